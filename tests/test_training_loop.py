import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.utils.data import DataLoader

from workbench.core.distill.training_loop import Stage, StageRunner, make_optimizer
from workbench.core.events import JobControl
from workbench.core.recipe import Recipe, StageConfig
from workbench.core.sources.batches import EpochOrder


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dense = nn.Linear(4, 4)
        self.LayerNorm = nn.LayerNorm(4)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(input_ids))


def test_optimizer_decays_weight_matrices_but_not_biases_or_layer_norms():
    model = Tiny()
    groups = make_optimizer(model, 1e-3, 0.01).param_groups
    decayed = {id(p) for g in groups if g["weight_decay"] == 0.01 for p in g["params"]}
    kept = {id(p) for g in groups if g["weight_decay"] == 0.0 for p in g["params"]}
    assert decayed == {id(model.dense.weight)}
    assert kept == {id(model.dense.bias), id(model.LayerNorm.weight), id(model.LayerNorm.bias)}


def _grad_norms_seen(max_grad_norm):
    from workbench.core.stages.context import make_accelerator

    recipe = Recipe()
    recipe.training.device, recipe.training.max_grad_norm = "cpu", max_grad_norm
    model = Tiny()
    data = [{"input_ids": torch.full((4,), float(i))} for i in range(8)]
    loader = DataLoader(data, batch_size=4, sampler=EpochOrder(len(data), seed=0))

    def losses(module, batch):  # a steep loss: gradients far above 1
        return {"loss": 1e4 * module(**batch).pow(2).mean()}

    norms = []

    def record(optimizer, args, kwargs):
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))

    handle = register_optimizer_step_pre_hook(record)
    try:
        runner = StageRunner(make_accelerator(recipe), None, None, JobControl(), recipe.training, dict)
        list(runner.run_stage(Stage("s", model, losses, loader, StageConfig(max_steps=2, lr=1e-3))))
    finally:
        handle.remove()
    return norms


def test_gradients_are_clipped_to_max_grad_norm_and_only_when_asked():
    clipped = _grad_norms_seen(1.0)
    assert len(clipped) == 2 and max(clipped) <= 1.0 + 1e-4
    assert max(_grad_norms_seen(None)) > 10


def _dtypes_a_step_sees(precision: str) -> set[torch.dtype]:
    recipe = Recipe()
    recipe.training.device, recipe.training.precision = "cpu", precision
    from workbench.core.stages.context import make_accelerator

    model, seen = Tiny(), set()
    model.dense.register_forward_hook(lambda module, args, output: seen.add(output.dtype))
    data = [{"input_ids": torch.full((4,), float(i))} for i in range(4)]
    loader = DataLoader(data, batch_size=4, sampler=EpochOrder(len(data), seed=0))
    outputs = []

    def losses(module, batch):
        outputs.append(module(**batch))
        return {"loss": outputs[-1].pow(2).mean()}

    runner = StageRunner(make_accelerator(recipe), None, None, JobControl(), recipe.training, dict)
    list(runner.run_stage(Stage("s", model, losses, loader, StageConfig(max_steps=1, lr=1e-3))))
    assert outputs[-1].dtype == torch.float32  # the losses always read fp32
    return seen


def test_bf16_runs_the_trainable_forward_in_bf16_and_fp32_does_not_in_the_same_process():
    assert _dtypes_a_step_sees("bf16") == {torch.bfloat16}
    assert _dtypes_a_step_sees("fp32") == {torch.float32}
    assert _dtypes_a_step_sees("bf16") == {torch.bfloat16}  # Accelerate's process-wide state is not involved


def test_auto_precision_is_bf16_only_where_the_hardware_has_it(monkeypatch):
    from workbench.core.distill import precision
    from workbench.core.recipe import TrainingConfig

    auto = TrainingConfig(device="cpu")
    monkeypatch.setattr(precision, "native_cpu_bf16", lambda: True)
    assert precision.training_precision(auto) == "bf16"
    monkeypatch.setattr(precision, "native_cpu_bf16", lambda: False)
    assert precision.training_precision(auto) == "fp32"
    assert precision.training_precision(TrainingConfig(device="cpu", precision="bf16")) == "bf16"
