"""A tiny model folder that ships its own Python code (transformers' `auto_map`): a config class and a model
class subclassing BERT's, each leaving a marker file when its module is imported, so a test sees that the
code ran. Loading it needs teacher.trust_remote_code: true."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tiny import save_tiny_bert

MODEL_TYPE = "tiny-custom-bert"

CONFIGURATION = '''
from pathlib import Path

from transformers import BertConfig

Path({folder!r}, "CONFIG_CODE_RAN").touch()  # transformers runs a copy of this file from its own cache


class CustomBertConfig(BertConfig):
    model_type = "{model_type}"
'''

MODELING = '''
from pathlib import Path

from transformers import BertForSequenceClassification, BertModel

from .configuration_custom import CustomBertConfig

Path({folder!r}, "MODEL_CODE_RAN").touch()


class CustomBertModel(BertModel):
    config_class = CustomBertConfig


class CustomBertForSequenceClassification(BertForSequenceClassification):
    config_class = CustomBertConfig
'''


def save_custom_code_bert(folder: Path, with_head: bool = False) -> Path:
    """The tiny BERT of tests/tiny.py, re-declared as a custom model type whose classes ship in the folder."""
    save_tiny_bert(folder, with_head=with_head)
    (folder / "configuration_custom.py").write_text(CONFIGURATION.format(model_type=MODEL_TYPE, folder=str(folder)))
    (folder / "modeling_custom.py").write_text(MODELING.format(folder=str(folder)))
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = MODEL_TYPE
    config["auto_map"] = {"AutoConfig": "configuration_custom.CustomBertConfig",
                          "AutoModel": "modeling_custom.CustomBertModel",
                          "AutoModelForSequenceClassification": "modeling_custom.CustomBertForSequenceClassification"}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder


def code_ran(folder: Path) -> bool:
    return (folder / "CONFIG_CODE_RAN").exists() or (folder / "MODEL_CODE_RAN").exists()
