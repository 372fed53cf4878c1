"""Audio → image: Duan et al. (2020), *Cascade Attention Guided Residue Learning GAN (CAR-GAN) for
Cross-Modal Translation* (docs/papers/car_gan.md).

- `config`: the `task: car_gan` schema; `data`: the `data:` section → tf.data and arrays;
- `networks`: the classifier C, the cascade G1 → C → G2 and the PatchGAN critic of a config;
- `run`: the stages of a run directory (`CARGANRun`); `task`: `TASK`, with Table I's ablation;
- `probe`, `evaluate`, `image_grids`: the learning curve, Tables I-II, Fig. 4-5;
- `bench`: the task's benchmark section.

Nothing is imported here: `tfxmodal.registry` imports `task` when the task is asked for.
"""
