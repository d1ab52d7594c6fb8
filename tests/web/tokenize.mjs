// The web demo's tokenization in Node: the ids that resources/web/encode.mjs gives with tokenizers.js for each
// text. Usage: node tokenize.mjs TOKENIZERS_MODULE ENCODE_MODULE TOKENIZER_JSON < texts.json > ids.json
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [tokenizersModule, encodeModule, tokenizerPath] = process.argv.slice(2);
const { Tokenizer } = await import(pathToFileURL(tokenizersModule).href);
const { textEncoder } = await import(pathToFileURL(encodeModule).href);
const encode = textEncoder(Tokenizer, JSON.parse(readFileSync(tokenizerPath, "utf8")));
const texts = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(texts.map(encode)));
