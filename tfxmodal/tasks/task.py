"""What a task declares about itself (`Task`), so that the command lines hold no task names.

A task is one kind of run (`task:` in a config). A module of its paper's
package defines `TASK = Task(...)` (`tfxmodal.face2music.task`,
`tfxmodal.car_gan.task`); `tfxmodal.registry` lists the modules, one line
each. `train`, `evaluate`, `ablate` and `bench` look a task up there and
use only what it declares here.
"""

import dataclasses
import importlib
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A stage's output in the run directory and the config keys it was made from.

    Attributes:
        path: relative to the run directory (a file, or a directory such as
            `checkpoints`, which counts only when it is not empty).
        depends_on: dotted key prefixes (`"audio"`, `"train.batch_size"`,
            `"seed"`); empty means every key but `independent_of`.
        independent_of: prefixes that never change it (with an empty
            `depends_on`).
    """

    path: str
    depends_on: tuple = ()
    independent_of: tuple = ()

    def depends(self, key):
        """Whether changing config key `key` makes this artifact stale."""

        def under(prefixes):
            return any(key == prefix or key.startswith(prefix + ".") for prefix in prefixes)

        return under(self.depends_on) if self.depends_on else not under(self.independent_of)


@dataclasses.dataclass(frozen=True)
class Task:
    """One task: its config schema, its run, its evaluation and its ablations.

    Attributes:
        name: the config's `task:` value.
        schema: the config dataclass (`tfxmodal.config.parse` checks a
            mapping against it).
        run_class: `(config, out_dir) -> object with execute() -> summary
            dict`; the stages of one run (see `tasks.run_directory.execute_run`).
        config_version: bumped when a key is renamed or removed or a default
            changes; stored in the run directory's `config.yaml` (the
            version it was created under).
        renamed_keys: `{old dotted key: new dotted key, or None if removed}`
            of earlier config versions, so an older run directory gets a
            message naming the key and what to do.
        artifacts: the `Artifact`s of its stages: a changed config is taken
            in a run directory where no artifact that depends on the change
            exists yet (a run that failed before training), and refused
            naming the stale artifacts otherwise.
        earlier_defaults: `{config version: {dotted key: value}}` for keys
            that version did not have and whose behaviour then differs from
            today's default: a stored config of that version that lacks the
            key gets the value it was trained with, and one that has it keeps
            it when the re-run's command does not set the key.
        evaluator: `"module:function"` of `evaluate(run_dir, out_dir,
            **options) -> metrics dict`, imported only when evaluating (its
            plotting and report code is not needed to train); None: the task
            has no evaluation.
        evaluate_options: `((flags, argparse kwargs), ...)` the evaluator
            reads from `python -m tfxmodal.evaluate` (the `dest` names are
            passed to it as keyword arguments).
        ablations: `{variant: {dotted key: value}}` of the paper's ablation
            study (`python -m tfxmodal.ablate`).
        table_columns: metrics of the ablation table, in order.
        reference_row: `(metrics of one variant) -> row dict or None`, the
            real-data row of the table.
        shared_ablation_options: `(ablation out dir) -> {option: value}`
            passed to every variant's evaluation (e.g. one classifier
            directory for all rows).
        shared_ablation_stages: `(first variant's run dir) -> ({dotted key:
            value}, description dict)`: what the first variant trained that
            every later variant reuses (config overrides), so all rows are
            measured in the same spaces (face2music: ψ, hence φ and its
            statistics); the description goes into `table.json`.
        benchmarks: `{section: "module:function"}` of `python -m
            tfxmodal.bench`; each `function(quick, jit_compile)` returns JSON.
    """

    name: str
    schema: type
    run_class: type
    config_version: int = 1
    renamed_keys: dict = dataclasses.field(default_factory=dict)
    earlier_defaults: dict = dataclasses.field(default_factory=dict)
    artifacts: tuple = ()
    evaluator: str | None = None
    evaluate_options: tuple = ()
    ablations: dict = dataclasses.field(default_factory=dict)
    table_columns: tuple = ()
    reference_row: Callable | None = None
    shared_ablation_options: Callable | None = None
    shared_ablation_stages: Callable | None = None
    benchmarks: dict = dataclasses.field(default_factory=dict)

    def evaluate(self, run_dir, out_dir, **options):
        """Runs the task's evaluator; returns its metrics dict."""
        if self.evaluator is None:
            raise ValueError(f"task {self.name!r} has no evaluation")
        return resolve(self.evaluator)(run_dir, out_dir, **options)


def resolve(reference):
    """The object named by `"package.module:attribute"`."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)
