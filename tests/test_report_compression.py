"""Report pieces for threshold pruning, sparsity, the int8 guard and QAT, from the run's JSON files."""

from workbench.core.methods.int8_guard import guard_section
from workbench.core.methods.sparsity import sparsity_part
from workbench.core.methods.structured import pruning_per_layer

GUARD = {"mode": "dynamic", "split": "dev", "examples": 96, "max_accuracy_drop": 0.02, "fp32_accuracy": 1.0,
         "int8_accuracy": 0.95, "guarded_accuracy": 1.0, "met": True, "kept_fp32": ["/layer.0/output/MatMul"],
         "guarded_drop": 0.0,
         "nodes": [{"node": "/layer.0/output/MatMul", "op_type": "MatMul", "logit_mse": 4e-3, "accuracy_alone": 0.95,
                    "weight_bytes": 8192, "kept_fp32": True, "accuracy_recovered": 0.05},
                   {"node": "/layer.1/<b>", "op_type": "MatMul", "logit_mse": 1e-5, "accuracy_alone": 1.0,
                    "weight_bytes": 8192, "kept_fp32": False, "accuracy_recovered": None}]}


def test_threshold_pruning_reports_every_layer_and_the_rule():
    html = pruning_per_layer({"removed_heads": [[1], [0]], "removed_neurons": [[1, 2, 3], [4]],
                              "ffn_per_layer": [61, 63], "ffn_after": 63, "criterion": "threshold",
                              "threshold": 0.3, "heads_below_threshold": [1, 2]})
    assert "<td>1</td><td>1</td><td>1</td><td>3</td><td>61</td>" in html  # layer 1: 1 head (1 below), 3 neurons
    assert "<td>2</td><td>1</td><td>2</td><td>1</td><td>63</td>" in html
    assert "Threshold 0.3" in html and "none at or above it" in html


def test_sparsity_is_reported_with_its_honest_effect():
    html = sparsity_part({"requested": 0.5, "scope": "global", "sparsity": 0.5, "weights": 1000, "zeros": 500,
                          "matrices": {}})
    assert "50.0% of 1,000" in html and "latency does not improve" in html


def test_the_guard_lists_the_fp32_nodes_and_their_cost_and_qat_what_it_won():
    qat = {"dev_fp32_accuracy": 0.75, "dev_int8_accuracy": 0.70, "max_accuracy_drop": 0.01, "run": True,
           "dev_fp32_accuracy_after": 0.75, "dev_int8_accuracy_after": 0.74}
    html = guard_section(GUARD, qat)
    assert "/layer.0/output/MatMul" in html and "+5.0 points" in html and "6.0 KiB" in html
    assert "&lt;b&gt;" in html and "<b>" not in html  # node names from the file are escaped
    assert "+4.0 points for int8" in html
    assert guard_section(None) == ""
