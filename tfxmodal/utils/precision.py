"""`train.precision`: the Keras dtype policy of the networks a run trains.

- `float32` (the default): everything in float32.
- `mixed_bfloat16`: layers compute in bfloat16 and keep float32 variables
  (bfloat16 has float32's exponent range: no loss scaling);
- `mixed_float16`: layers compute in float16 and keep float32 variables;
  `GANTrainer.compile` wraps every optimizer in
  `keras.optimizers.LossScaleOptimizer` (float16's gradients underflow
  without it), and the trainers scale each loss by its optimizer's scale
  before differentiating (`GANTrainer.gradients`).

What must stay float32 does so whatever the policy: spectral norm's σ
and power iteration (computed from the float32 variables), the batch-norm
statistics (Keras computes them in float32), the generator's output,
and the losses, which the trainers compute from float32 casts.
"""

import contextlib

import keras

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def check_precision(precision):
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def dtype_policy(precision):
    """The `keras.DTypePolicy` of `precision`, to pass as a network's `dtype=`."""
    return keras.DTypePolicy(check_precision(precision))


@contextlib.contextmanager
def precision_scope(precision):
    """Keras's global dtype policy set to `precision` while the block runs (to build networks), then restored."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy(precision))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def uses_loss_scaling(networks):
    """Whether any of `networks` (Keras layers) computes in float16, so that its gradients need loss scaling."""
    return any(network.dtype_policy.compute_dtype == "float16" for network in networks)
