"""Can the face → music critic hear the pitch at this width? Its trunk trained alone as a pitch classifier.

A diagnostic, not part of the package: a fresh `WaveGANDiscriminator` of
the config's `model.width` (no batch norm) with a linear pitch head on its
pooled features, trained with cross-entropy on real notes of the config's
train split and scored on its test split (`evaluation.critic_probe`).
Prints one JSON line.

    python tools/critic_probe.py --config configs/face2music_cpu_hour.yaml --steps 2000
"""

import argparse
import dataclasses
import json
import time

from tfxmodal import registry
from tfxmodal.face2music.critic_probe import wavegan_critic_pitch_probe
from tfxmodal.face2music.data import target_subset


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--examples", type=int, default=4000, help="at most this many train notes")
    args = parser.parse_args(argv)
    config = registry.parsed_config(args.config, args.overrides)
    started = time.time()
    train = target_subset(config.audio, args.examples, config.seed)
    test = target_subset(dataclasses.replace(config.audio, split="test"), args.examples, config.seed)
    result = wavegan_critic_pitch_probe(
        config.model.width,
        train,
        test,
        args.steps,
        batch_size=args.batch_size,
        seed=config.seed,
        learning_rate=args.learning_rate,
    )
    result.update(
        width=config.model.width,
        train_notes=len(train[0]),
        test_notes=len(test[0]),
        chance=round(1 / 61, 4),
        seconds=round(time.time() - started, 1),
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
