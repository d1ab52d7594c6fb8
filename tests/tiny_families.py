"""Tiny random teachers of every supported family, each with a tokenizer of its family's kind built offline:
WordPiece (BERT, ELECTRA, DistilBERT), byte-level BPE (RoBERTa, ModernBERT) and SentencePiece-style Unigram
(XLM-R, CamemBERT, DeBERTa-v3), trained in a blink on the tiny corpus's words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.tiny import WORDS, write_vocab

BERT_SPECIALS = {"cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]", "mask": "[MASK]"}
ROBERTA_SPECIALS = {"cls": "<s>", "sep": "</s>", "pad": "<pad>", "unk": "<unk>", "mask": "<mask>"}


@dataclass(frozen=True)
class FamilyCase:
    model_type: str
    tokenizer: str  # "wordpiece" | "bpe" | "unigram"
    specials: dict[str, str]


CASES = {
    "bert": FamilyCase("bert", "wordpiece", BERT_SPECIALS),
    "electra": FamilyCase("electra", "wordpiece", BERT_SPECIALS),
    "distilbert": FamilyCase("distilbert", "wordpiece", BERT_SPECIALS),
    "roberta": FamilyCase("roberta", "bpe", ROBERTA_SPECIALS),
    "xlm-roberta": FamilyCase("xlm-roberta", "unigram", ROBERTA_SPECIALS),
    "camembert": FamilyCase("camembert", "unigram", ROBERTA_SPECIALS),
    "deberta-v2": FamilyCase("deberta-v2", "unigram", BERT_SPECIALS),
    "modernbert": FamilyCase("modernbert", "bpe", BERT_SPECIALS),
}


def corpus() -> list[str]:
    """Texts whose words are those of the tiny CSV (tests/tiny.py), digits included."""
    return [" ".join(WORDS[i:i + 6]) for i in range(len(WORDS))] + [" ".join(str(i) for i in range(200))]


def family_tokenizer(case: FamilyCase, folder: Path):
    """A fast tokenizer of the case's kind, saved in `folder` and loaded back as AutoTokenizer would."""
    if case.tokenizer == "wordpiece":
        import transformers as tr

        write_vocab(folder)
        # Each family's own WordPiece class: DistilBERT's gives no token types, as its model takes none.
        kind = {"bert": tr.BertTokenizerFast, "electra": tr.ElectraTokenizerFast,
                "distilbert": tr.DistilBertTokenizerFast}[case.model_type]
        kind.from_pretrained(folder).save_pretrained(folder)
        return tr.AutoTokenizer.from_pretrained(folder)
    from tokenizers import processors
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    names = case.specials
    order = [names["cls"], names["pad"], names["sep"], names["unk"], names["mask"]]
    backend = _bpe(order) if case.tokenizer == "bpe" else _unigram(order, names["unk"])
    cls, sep = names["cls"], names["sep"]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B {sep}",
        special_tokens=[(cls, backend.token_to_id(cls)), (sep, backend.token_to_id(sep))])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, cls_token=cls, sep_token=sep, pad_token=names["pad"], unk_token=names["unk"],
        mask_token=names["mask"], bos_token=cls, eos_token=sep, model_input_names=["input_ids", "attention_mask"])
    tokenizer.save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


def _bpe(specials: list[str]):
    from tokenizers import ByteLevelBPETokenizer

    tokenizer = ByteLevelBPETokenizer(add_prefix_space=True)
    tokenizer.train_from_iterator(corpus(), vocab_size=400, min_frequency=1, special_tokens=specials,
                                  show_progress=False)
    return tokenizer._tokenizer


def _unigram(specials: list[str], unk: str):
    from tokenizers import SentencePieceUnigramTokenizer

    tokenizer = SentencePieceUnigramTokenizer()
    tokenizer.train_from_iterator(corpus(), vocab_size=150, special_tokens=specials, unk_token=unk,
                                  show_progress=False)
    return tokenizer._tokenizer


def family_config(case: FamilyCase, tokenizer, layers: int = 2, hidden: int = 32, heads: int = 4):
    import transformers as tr

    ids = {"pad_token_id": tokenizer.pad_token_id, "bos_token_id": tokenizer.cls_token_id,
           "eos_token_id": tokenizer.sep_token_id}
    sizes = {"vocab_size": len(tokenizer), "max_position_embeddings": 128}
    if case.model_type == "distilbert":
        return tr.DistilBertConfig(dim=hidden, n_layers=layers, n_heads=heads, hidden_dim=2 * hidden,
                                   pad_token_id=tokenizer.pad_token_id, **sizes)
    shape = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
             "intermediate_size": 2 * hidden}
    if case.model_type == "deberta-v2":  # DeBERTa-v3's attention: relative positions, p2c and c2p terms
        return tr.DebertaV2Config(relative_attention=True, pos_att_type=["p2c", "c2p"], position_biased_input=False,
                                  max_relative_positions=-1, position_buckets=16, norm_rel_ebd="layer_norm",
                                  share_att_key=True, type_vocab_size=0, **shape, **sizes, **ids)
    if case.model_type == "modernbert":
        return tr.ModernBertConfig(cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id,
                                   global_attn_every_n_layers=2, local_attention=16, **shape, **sizes, **ids)
    config_class = type(tr.AutoConfig.for_model(case.model_type))
    return config_class(**shape, **sizes, **ids)


def save_family_teacher(case: FamilyCase, folder: Path, seed: int = 0) -> Path:
    """A tiny base encoder of the family (no task head: the job fine-tunes one) and its tokenizer."""
    import torch
    from transformers import AutoModel

    tokenizer = family_tokenizer(case, folder)
    torch.manual_seed(seed)
    AutoModel.from_config(family_config(case, tokenizer)).save_pretrained(folder)
    return folder
