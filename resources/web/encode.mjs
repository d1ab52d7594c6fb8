// A text to the ids the student reads, with the kept tokenizers.js library (@huggingface/tokenizers): it
// normalizes, pre-tokenizes, runs the WordPiece / BPE / Unigram model and adds the special tokens from the
// same tokenizer.json that Python's `tokenizers` reads. It does not apply that file's "truncation" setting, so
// this module does, as the Rust library does for one text: the text's own tokens are cut to leave room for the
// special tokens, then the post-processor adds them. Shared by the page and the tests that compare it with
// Python.

export function textEncoder(Tokenizer, tokenizerJson) {
  const tokenizer = new Tokenizer(tokenizerJson, {});
  const vocab = tokenizer.get_vocab(true);
  const unknown = tokenizer.model.unk_token_id;
  const addSpecials = (tokens) => (tokenizer.post_processor ? tokenizer.post_processor(tokens, null, true).tokens : tokens);
  const truncation = tokenizerJson.truncation;
  const room = truncation ? truncation.max_length - addSpecials([]).length : Infinity;
  return (text) => {
    let tokens = tokenizer.tokenize(text);
    if (tokens.length > room) {
      tokens = truncation.direction === "Left" ? tokens.slice(tokens.length - room) : tokens.slice(0, room);
    }
    return addSpecials(tokens).map((token) => vocab.get(token) ?? unknown);
  };
}
