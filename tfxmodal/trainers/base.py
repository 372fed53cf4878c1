"""The contract every GAN trainer of tfxmodal follows (`GANTrainer`).

A GAN trainer is a `keras.Model` with no `call()` whose `train_step`
updates several networks with several optimizers. What all of them share
lives here, written once:

- optimizers declared by name (`optimized_variables()`), passed to
  `compile(optimizers)` and built there, inside the caller's strategy scope
  (a first `apply` inside a replica context cannot create slot variables);
- `super().compile(optimizer=None)` (otherwise Keras builds an unused
  RMSprop over every variable);
- one `keras.metrics.Mean` tracker per reported value, the `metrics`
  property Keras resets every epoch, and replica-correct averaging: losses
  are averaged over the *global* batch (`tf.nn.compute_average_loss`),
  because Keras sums gradients over replicas, and `track` undoes that
  scaling so the reported values are the global means;
- the gradient norm of every update (`grad_norm_<optimizer>`), which tells a
  saturated critic (vanishing generator gradients) from an exploding one;
- `trackables()`: what a checkpoint saves (networks under their names, each
  optimizer as `<name>_optimizer`), and the step counter;
- loss scaling for networks that compute in float16 (`train.precision:
  mixed_float16`, `tfxmodal/utils/precision.py`): `compile` wraps each
  optimizer in a `keras.optimizers.LossScaleOptimizer` and `gradients`
  differentiates each loss times its optimizer's scale (the optimizer
  unscales, and skips a step whose gradients overflowed).

Subclasses keep only their losses and `train_step`.
"""

import keras
import tensorflow as tf

from tfxmodal.utils.precision import uses_loss_scaling


def num_replicas():
    """Replicas of the current `tf.distribute` strategy (1 without one)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def average(per_example):
    """Mean over the global batch of a per-replica `(batch,)` loss (see module docstring)."""
    return tf.nn.compute_average_loss(per_example)


class GANTrainer(keras.Model):
    """Base class of `Face2MusicGAN`, `AdversarialAutoencoder` and `CARGANTrainer`.

    Subclasses implement:

    - `networks()`: `{name: keras.Model}`, the trained networks under the
      names their checkpoints use;
    - `optimized_variables()`: `{optimizer name: variables}` it updates;
    - `loss_names()`: the values `train_step` reports (besides the
      gradient norms, which are added here);
    - `train_step(data)`, using `apply_gradients`, `track` and `average`,
      and returning `self.results()`.

    `step_optimizer` names the optimizer whose `iterations` is the run's
    step (generator updates).
    """

    step_optimizer = "generator"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # A trainer has no call(); its networks are built before fit.
        self.built = True

    # -- what a subclass declares -------------------------------------------
    def networks(self):
        raise NotImplementedError

    def optimized_variables(self):
        raise NotImplementedError

    def loss_names(self):
        raise NotImplementedError

    # -- compile ----------------------------------------------------------------
    def compile(self, optimizers, jit_compile=False, steps_per_execution=1):
        """Sets and builds the optimizers; create them inside the strategy scope.

        Args:
            optimizers: `{name: keras.optimizers.Optimizer}`, exactly the
                names of `optimized_variables()`.
            jit_compile: XLA-compile `train_step` (slow on CPU for
                transposed 1-D convolutions).
            steps_per_execution: Keras's steps per `tf.function` call.
        """
        super().compile(optimizer=None, jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        targets = self.optimized_variables()
        if set(optimizers) != set(targets):
            raise ValueError(
                f"{type(self).__name__}.compile: expected optimizers {sorted(targets)}, got {sorted(optimizers)}"
            )
        self._named_optimizers = {name: optimizers[name] for name in targets}
        if uses_loss_scaling(self.networks().values()):
            self._named_optimizers = {
                name: optimizer
                if isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(optimizer, name=f"{name}_loss_scale")
                for name, optimizer in self._named_optimizers.items()
            }
        for name, variables in targets.items():
            self._named_optimizers[name].build(variables)
        names = list(self.loss_names()) + [f"grad_norm_{name}" for name in targets]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    def named_optimizers(self):
        """`{name: optimizer}` (for checkpoints and learning-rate summaries)."""
        return dict(self._named_optimizers)

    def optimizer_named(self, name):
        """The optimizer called `name`."""
        return self._named_optimizers[name]

    @property
    def step_counter(self):
        """The variable counting the run's steps (the step optimizer's `iterations`)."""
        return self._named_optimizers[self.step_optimizer].iterations

    def trackables(self):
        """What a checkpoint saves: networks by name, optimizers as `<name>_optimizer`."""
        saved = dict(self.networks())
        saved.update({f"{name}_optimizer": optimizer for name, optimizer in self._named_optimizers.items()})
        return saved

    # -- bookkeeping inside train_step ------------------------------------------
    @property
    def metrics(self):
        return list(self.trackers.values()) if hasattr(self, "trackers") else []

    def track(self, name, replica_value):
        """Records a per-replica value that was scaled by 1/replicas (as `average` scales)."""
        self.trackers[name].update_state(replica_value * num_replicas())

    def loss_scale(self, name):
        """Optimizer `name`'s current loss scale: a float32 scalar, or None without loss scaling."""
        optimizer = self._named_optimizers[name]
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return tf.convert_to_tensor(optimizer.dynamic_scale, tf.float32)
        return None

    def gradients(self, tape, losses, variables):
        """∂(Σ losses)/∂variables from a finished tape, `losses` `{optimizer name: float32 scalar loss}`.

        Each loss is scaled by its optimizer's loss scale (one backward
        pass: the scales are the output gradients), so every variable's
        gradient comes scaled by the scale of the optimizer that applies
        it, as long as each optimizer's variables get gradients from its
        own loss only.
        """
        names = list(losses)
        scales = [self.loss_scale(name) for name in names]
        targets = [losses[name] for name in names]  # a list of targets: the gradient of their sum
        if all(scale is None for scale in scales):
            return tape.gradient(targets, variables)
        output_gradients = [tf.ones([]) if scale is None else scale for scale in scales]
        return tape.gradient(targets, variables, output_gradients=output_gradients)

    def apply(self, name, gradients, variables):
        """Applies `gradients` with optimizer `name` and records their (unscaled) norm."""
        self._named_optimizers[name].apply_gradients(zip(gradients, variables))
        norm = tf.linalg.global_norm(gradients)
        scale = self.loss_scale(name)
        self.track(f"grad_norm_{name}", norm if scale is None else norm / scale)

    def apply_gradients(self, name, tape, loss, variables):
        """`apply(name, ∂loss/∂variables, variables)` from a finished tape (loss-scaled where needed)."""
        self.apply(name, self.gradients(tape, {name: loss}, variables), variables)

    def results(self):
        """The epoch-so-far mean of every tracked value (what `train_step` returns)."""
        return {name: tracker.result() for name, tracker in self.trackers.items()}
