"""Can CAR-GAN's PatchGAN name the instrument at this width? Its trunk trained alone as a classifier.

A diagnostic, not part of the package: a fresh `PatchGANDiscriminator` of
the config's architecture and `model.discriminator_filters`, a global
average pool of its last hidden map and a `Dense(13)`, trained with
cross-entropy on the real (LMS, image) pairs of the train split and scored
on the test split (`evaluation.car_gan_probe.patchgan_trunk_label_probe`).
`--inputs pair` is what D sees; `lms` zeroes the image (does the audio
alone name the instrument?), `image` zeroes the LMS. Prints one JSON line.

    python tools/car_gan_critic_probe.py --config configs/car_gan_cpu_hour.yaml --steps 1500
"""

import argparse
import json
import time

from tfxmodal import registry
from tfxmodal.car_gan.probe import PROBE_INPUTS, patchgan_trunk_label_probe, split_arrays


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--inputs", nargs="+", choices=PROBE_INPUTS, default=list(PROBE_INPUTS))
    args = parser.parse_args(argv)
    config = registry.parsed_config(args.config, args.overrides)
    started = time.time()
    train, test = split_arrays(config, "train"), split_arrays(config, "test")
    result = {
        "config": args.config,
        "discriminator_filters": config.model.discriminator_filters,
        "image_size": config.data.image_size,
        "train_examples": len(train["label"]),
        "test_examples": len(test["label"]),
    }
    for inputs in args.inputs:
        probe = patchgan_trunk_label_probe(
            config, train, test, args.steps, inputs=inputs, batch_size=args.batch_size, learning_rate=args.learning_rate
        )
        result[inputs] = {key: round(value, 4) if isinstance(value, float) else value for key, value in probe.items()}
    result["seconds"] = round(time.time() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
