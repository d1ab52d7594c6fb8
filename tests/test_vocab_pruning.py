import copy
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer
from transformers import AutoTokenizer, BertForMaskedLM, BertForSequenceClassification, BertTokenizerFast

from tests.tiny import LABELS, tiny_bert_config, write_vocab
from workbench.core.compress.vocab_pruning import VocabularyPruningError, prune_vocabulary, select_vocabulary

TEXTS = ["Good movie, really!", "I hate this flight", "the food was awful.", "we love the car"]
UNSEEN = "zebra quantum xylophone"  # none of these letters or words occur in TEXTS


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    """The tiny vocabulary laid out like BERT's: [PAD], reserved [unusedN] slots, then [UNK] [CLS] [SEP] [MASK],
    so that pruning really renumbers the special tokens."""
    folder = tmp_path_factory.mktemp("tok")
    tokens = write_vocab(folder).read_text(encoding="utf-8").split()
    reserved = [f"[unused{i}]" for i in range(10)]
    (folder / "vocab.txt").write_text("\n".join(tokens[:1] + reserved + tokens[1:]) + "\n", encoding="utf-8")
    return BertTokenizerFast.from_pretrained(folder)


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    return BertForSequenceClassification(tiny_bert_config(len(tokenizer), labels=LABELS)).eval()


@pytest.fixture(scope="module")
def pruned(model, tokenizer, tmp_path_factory):
    """(selection, pruned model as loaded from its folder, the tokenizer saved beside it)"""
    folder = tmp_path_factory.mktemp("pruned")
    selection = select_vocabulary(model, tokenizer, TEXTS)
    new_tokenizer = prune_vocabulary(copy.deepcopy(model), tokenizer, selection, folder)
    loaded = BertForSequenceClassification.from_pretrained(folder).eval()
    return selection, loaded, new_tokenizer


def _logits(model, encoded):
    with torch.no_grad():
        return model(**encoded).logits


def test_selection_keeps_the_texts_tokens_and_the_special_ones(model, tokenizer, pruned):
    selection, _, _ = pruned
    used = {i for text in TEXTS for i in tokenizer(text)["input_ids"]}
    assert set(selection.kept_ids) == used | set(tokenizer.all_special_ids)
    assert selection.kept_ids == sorted(selection.kept_ids)
    assert selection.vocab_before == len(tokenizer) and selection.vocab_after < len(tokenizer) // 3
    assert selection.parameters_saved == (len(tokenizer) - selection.vocab_after) * 32
    assert selection.to_dict()["fp32_bytes_saved"] == 4 * selection.parameters_saved


def test_margin_adds_the_lowest_other_ids_but_no_reserved_slots(model, tokenizer, pruned):
    selection, _, _ = pruned
    wider = select_vocabulary(model, tokenizer, TEXTS, margin=3)
    tokens = tokenizer.convert_ids_to_tokens(range(len(tokenizer)))
    spare = [i for i, token in enumerate(tokens) if i not in selection.kept_ids and "unused" not in token][:3]
    assert wider.kept_ids == sorted(selection.kept_ids + spare)


def test_pruned_model_and_tokenizer_are_smaller_and_agree(pruned):
    selection, loaded, new_tokenizer = pruned
    assert len(new_tokenizer) == selection.vocab_after == loaded.config.vocab_size
    assert loaded.get_input_embeddings().num_embeddings == selection.vocab_after
    assert new_tokenizer.convert_ids_to_tokens(loaded.config.pad_token_id) == "[PAD]"
    assert new_tokenizer.convert_ids_to_tokens(list(range(5))) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_tokenizer_round_trips_texts_within_the_kept_set(tokenizer, pruned):
    selection, _, new_tokenizer = pruned
    for text in TEXTS:
        old_ids, new_ids = tokenizer(text)["input_ids"], new_tokenizer(text)["input_ids"]
        assert new_ids == [selection.kept_ids.index(i) for i in old_ids]
        expected = tokenizer.decode(old_ids, skip_special_tokens=True)
        assert new_tokenizer.decode(new_ids, skip_special_tokens=True) == expected


def test_pruned_model_gives_the_original_logits_on_texts_within_the_kept_set(model, tokenizer, pruned):
    _, loaded, new_tokenizer = pruned
    original = _logits(model, tokenizer(TEXTS, padding=True, return_tensors="pt"))
    torch.testing.assert_close(_logits(loaded, new_tokenizer(TEXTS, padding=True, return_tensors="pt")), original)


def test_words_outside_the_kept_set_become_unk_and_still_run(pruned):
    _, loaded, new_tokenizer = pruned
    encoded = new_tokenizer([UNSEEN, TEXTS[0]], padding=True, return_tensors="pt")
    tokens = new_tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
    assert tokens == ["[CLS]", "[UNK]", "[UNK]", "[UNK]", "[SEP]"] + ["[PAD]"] * (len(tokens) - 5)
    assert torch.isfinite(_logits(loaded, encoded)).all()


def test_saved_tokenizer_file_encodes_alike_with_or_without_transformers(pruned):
    """tokenizer.json itself (vocabulary, [CLS]/[SEP] ids) is consistent, for readers that use it directly."""
    _, _, new_tokenizer = pruned
    folder = Path(new_tokenizer.name_or_path)
    expected = new_tokenizer(TEXTS + [UNSEEN])["input_ids"]
    assert AutoTokenizer.from_pretrained(folder)(TEXTS + [UNSEEN])["input_ids"] == expected
    backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert [encoding.ids for encoding in backend.encode_batch(TEXTS + [UNSEEN])] == expected


def test_models_that_predict_tokens_are_refused(tokenizer, tmp_path):
    torch.manual_seed(0)
    masked_lm = BertForMaskedLM(tiny_bert_config(len(tokenizer)))
    with pytest.raises(VocabularyPruningError, match="LM head"):
        prune_vocabulary(masked_lm, tokenizer, select_vocabulary(masked_lm, tokenizer, TEXTS), tmp_path)
