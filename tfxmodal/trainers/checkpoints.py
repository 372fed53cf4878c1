"""Checkpoints keyed by stable variable names, that survive a killed run and a damaged file.

Every Keras network and optimizer of a run is saved as a mapping from a
stable key to each of its variables:

- a network's variable is keyed by its path below the network
  (`upconv1/kernel`, `project_cbn/batch_norm/moving_mean`): layer names are
  explicit in tfxmodal's models, so the key does not depend on the order in
  which layers are built nor on the auto-generated names Keras gives to
  objects elsewhere in the process;
- an optimizer's slot by the key of the network variable it belongs to and
  the slot's kind (`generator/upconv1/kernel:momentum`), its other
  variables by name (`iteration`); Keras names slots after the *path* of
  their variable, which holds auto-generated names, so the name itself is
  not used.

Restoring compares the checkpoint with the networks first: a variable the
checkpoint lacks, one it has that the network lacks, or a shape that
differs is an `IncompatibleCheckpoint` naming the variable (the code or
the config changed; `python -m tfxmodal.train` exits 2), never a silent
restore into the wrong variables. A checkpoint whose files cannot be read
(truncated, corrupted) is *damaged*: it is skipped with a warning and the
previous one is tried.

Checkpoints written before version 2 of this format (the objects
themselves plus `<name>_variables/<position>` lists) still restore, through
TensorFlow's object-graph restore as they were written; a shape that does
not fit is an `IncompatibleCheckpoint` there too.
"""

import glob
import logging
import os

import keras
import tensorflow as tf

from tfxmodal.errors import DamagedCheckpoints, IncompatibleCheckpoint

log = logging.getLogger(__name__)

_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def _warn(message):
    """A resume warning, logged and on stdout (where the run's own log lines go)."""
    log.warning(message)
    print(f"warning: {message}", flush=True)


def _escape(name):
    # How tf.train.Checkpoint spells a child's name inside a checkpoint key.
    return name.replace(".", "..").replace("/", ".S")


def stable_keys(obj, name, network_keys=None):
    """`{stable key: variable}` of a Keras network or optimizer (see the module docstring).

    Args:
        obj: a built Keras layer/model or optimizer.
        name: its name in the checkpoint (for messages).
        network_keys: for an optimizer, `{id(network variable): key}` of the
            networks saved with it, which names its slots.

    Raises:
        ValueError: `obj` has no variables yet, or two variables share a key.
    """
    if not obj.variables:
        raise ValueError(f"RunCheckpoints: {name} has no variables yet; build it before checkpointing")
    if isinstance(obj, keras.optimizers.Optimizer):
        owners = _slot_owners(obj, network_keys or {})
    keys = {}
    seed_states = 0
    for variable in obj.variables:
        if isinstance(obj, keras.optimizers.Optimizer):
            key = owners.get(id(variable), variable.name)
        elif variable.path.endswith("seed_generator_state"):
            # Random-number states (dropout) are named after a process-wide counter
            # (`seed_generator_3/...`): the n-th of the network is the stable key.
            key = f"seed_generator_states/{seed_states}"
            seed_states += 1
        else:
            parts = variable.path.split("/")
            key = "/".join(parts[parts.index(obj.name) + 1 :]) if obj.name in parts[:-1] else variable.path
        if key in keys:
            raise ValueError(f"RunCheckpoints: two variables of {name} are both called {key!r}")
        keys[key] = variable
    return keys


def _slot_owners(optimizer, network_keys):
    """`{id(slot): "<network key>:<slot kind>"}` for the slots of variables in `network_keys`.

    Keras 3 names a slot `<variable path with / as _>_<kind>` (Adam:
    `_momentum`, `_velocity`); the longest matching variable is its owner.
    """
    prefixes = {}
    for variable in getattr(optimizer, "_trainable_variables", []):
        if id(variable) in network_keys:
            prefixes[variable.path.replace("/", "_") + "_"] = network_keys[id(variable)]
    owners = {}
    for slot in optimizer.variables:
        matches = [prefix for prefix in prefixes if slot.name.startswith(prefix)]
        if matches:
            prefix = max(matches, key=len)
            owners[id(slot)] = f"{prefixes[prefix]}:{slot.name[len(prefix) :]}"
    return owners


def _unescape(name):
    return name.replace(".S", "/").replace("..", ".")


def _is_keras_object(value):
    return isinstance(value, (keras.layers.Layer, keras.optimizers.Optimizer))


class RunCheckpoints:
    """A `tf.train.CheckpointManager` with stable keys, compatibility checks and damage fallback.

    TensorFlow writes a checkpoint's data under temporary names, merges its
    index into `ckpt-<n>.index` in place, and then rewrites the `checkpoint`
    state file atomically, so a killed run leaves the previous checkpoints
    intact and at most one unfinished, unlisted one (`restore_latest`).

    Args:
        directory: where checkpoints are written (`ckpt-<step>.*`).
        max_to_keep: how many recent checkpoints to keep.
        **trackables: `{name: Keras network or optimizer, or a tf.Variable}`,
            the names the checkpoint keys start with.
    """

    def __init__(self, directory, max_to_keep=3, **trackables):
        self.directory = directory
        self.mappings = {}
        self.plain = {}
        network_keys = {}
        for name, value in trackables.items():
            if _is_keras_object(value) and not isinstance(value, keras.optimizers.Optimizer):
                self.mappings[name] = stable_keys(value, name)
                network_keys.update({id(variable): f"{name}/{key}" for key, variable in self.mappings[name].items()})
            elif not _is_keras_object(value):
                self.plain[name] = value
        for name, value in trackables.items():
            if isinstance(value, keras.optimizers.Optimizer):
                self.mappings[name] = stable_keys(value, name, network_keys)
        self.trackables = dict(trackables)
        self.checkpoint = tf.train.Checkpoint(**self.mappings, **self.plain)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=max_to_keep)

    def save(self, step):
        """Writes checkpoint `ckpt-<step>`; returns its path."""
        return self.manager.save(checkpoint_number=int(step))

    def candidates(self):
        """Checkpoint prefixes to try, newest first.

        The manager's list, plus every `ckpt-<n>` whose `.index` file exists:
        TensorFlow writes the index last, then updates the `checkpoint` state
        file, so a run killed between the two leaves a complete checkpoint
        that the state file does not list yet.
        """
        prefixes = set(self.manager.checkpoints)
        for index_file in glob.glob(os.path.join(self.directory, "ckpt-*.index")):
            prefixes.add(index_file[: -len(".index")])

        def number(prefix):
            suffix = prefix.rsplit("-", 1)[-1]
            return int(suffix) if suffix.isdigit() else -1

        return sorted(prefixes, key=number, reverse=True)

    def restore_latest(self):
        """Restores the newest intact checkpoint; returns its path or None.

        A checkpoint that cannot be read and that the `checkpoint` state file
        does not list is a write the run did not finish (its index is written
        in place, so a `kill -9` can leave it truncated); when nothing else
        exists the run starts from the beginning, as it would have without it.

        Raises:
            IncompatibleCheckpoint: the newest readable checkpoint does not
                fit the networks (names the variable and both shapes).
            DamagedCheckpoints: checkpoints the state file lists exist but
                none of them can be read.
        """
        candidates = self.candidates()
        listed = {os.path.basename(path) for path in self.manager.checkpoints}
        skipped = []
        for path in candidates:
            try:
                if self._is_version_1(path):
                    self._restore_version_1(path)
                    return path
                assignments = self._read(path)
            # A truncated data file surfaces as IndexError ("Read less bytes than requested").
            except (tf.errors.OpError, IndexError) as error:
                first_line = str(error).splitlines()[0][:200] if str(error) else ""
                message = (
                    f"checkpoint {path} is damaged or incomplete ({type(error).__name__}: {first_line}); "
                    "trying the previous one"
                )
                _warn(message)
                skipped.append(path)
                continue
            for variable, value in assignments:
                variable.assign(value)
            return path
        unfinished = [path for path in skipped if os.path.basename(path) not in listed]
        if candidates and len(unfinished) == len(skipped):
            # Only writes the run never finished (killed while writing the index, before the
            # `checkpoint` state file listed them): no step was ever saved, so start afresh.
            message = (
                f"{', '.join(os.path.basename(p) for p in unfinished)} in {self.directory}: an unfinished write "
                "(not in the `checkpoint` state file) and no earlier checkpoint; training from the start"
            )
            _warn(message)
            return None
        if candidates:
            raise DamagedCheckpoints(
                f"no checkpoint in {self.directory} can be read ({', '.join(os.path.basename(p) for p in skipped)}); "
                f"delete {self.directory} to train again from the start"
            )
        return None

    def _is_version_1(self, path):
        keys = tf.train.load_checkpoint(path).get_variable_to_shape_map()
        prefixes = tuple(_escape(f"{name}_variables") + "/" for name in self.mappings)
        return any(key.startswith(prefixes) for key in keys)

    def _restore_version_1(self, path):
        """Restores a checkpoint of the pre-version-2 layout with the object graph it was written with."""
        legacy = dict(self.trackables)
        for name in self.mappings:
            legacy[f"{name}_variables"] = {str(i): v for i, v in enumerate(self.trackables[name].variables)}
        try:
            tf.train.Checkpoint(**legacy).restore(path).expect_partial().assert_existing_objects_matched()
        except (ValueError, AssertionError) as error:
            first_line = str(error).splitlines()[0][:300]
            raise IncompatibleCheckpoint(
                f"incompatible checkpoint {path} (written before version 2): {first_line}"
            ) from None

    def _read(self, path):
        """`[(variable, value)]` for every variable, after checking the whole checkpoint fits."""
        reader = tf.train.load_checkpoint(path)
        shapes = reader.get_variable_to_shape_map()
        pairs = []
        for name, mapping in self.mappings.items():
            pairs += self._match(path, name, mapping, shapes)
        for name, variable in self.plain.items():
            key = _escape(name) + _VALUE_SUFFIX
            if key in shapes:
                pairs.append((variable, key))
        # Read every value before assigning any, so a damaged file changes nothing.
        return [(variable, reader.get_tensor(key)) for variable, key in pairs]

    def _match(self, path, name, mapping, shapes):
        """`[(variable, checkpoint key)]` of one network or optimizer."""
        prefix = _escape(name) + "/"
        stored = {
            key[len(prefix) : -len(_VALUE_SUFFIX)]: key
            for key in shapes
            if key.startswith(prefix) and key.endswith(_VALUE_SUFFIX)
        }
        expected = {_escape(key): (key, variable) for key, variable in mapping.items()}
        missing = sorted(expected[key][0] for key in set(expected) - set(stored))
        if missing:
            raise IncompatibleCheckpoint(
                f"incompatible checkpoint {path}: {name}/{missing[0]} is not in it"
                f"{f' (nor {len(missing) - 1} more variables)' if len(missing) > 1 else ''}; "
                "the networks differ from the ones it was written for"
            )
        extra = sorted(set(stored) - set(expected))
        if extra:
            raise IncompatibleCheckpoint(
                f"incompatible checkpoint {path}: it holds {name}/{_unescape(extra[0])} "
                f"which the current {name} does not have"
            )
        pairs = []
        for escaped, (key, variable) in expected.items():
            self._check_shape(path, f"{name}/{key}", variable, shapes[stored[escaped]])
            pairs.append((variable, stored[escaped]))
        return pairs

    @staticmethod
    def _check_shape(path, label, variable, stored_shape):
        expected = [int(d) for d in variable.shape]
        if list(stored_shape) != expected:
            raise IncompatibleCheckpoint(
                f"incompatible checkpoint {path}: {label} expected shape {tuple(expected)}, found {tuple(stored_shape)}"
            )
