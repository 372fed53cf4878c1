"""Face → music: Kim, Port & Patel (2020), *Face-to-Music Translation Using a Distance-Preserving GAN
with an Auxiliary Discriminator* (docs/papers/face2music.md).

- `config`: the `task: face2music` schema and its sections (shared with `task: audio_embedder`);
- `data`: config sections → face sources, the face embedder, target notes, tf.data;
- `face_embedding`: the sharded, resumable stage that embeds the source faces;
- `networks`: the WaveGAN generator and critic of a config, the trainer of each variant;
- `run`: the stages of a run directory (`Face2MusicRun`); `trained`: a run loaded back;
- `task`: `TASK`, what the command lines know of the task; `audio_embedder`: ψ alone
  (`task: audio_embedder`);
- `classifiers`, `probe`, `critic_probe`, `evaluate`, `figures`, `report`, `paper_tables`:
  Table 1's metrics, the learning curve, Figures 2-3, the HTML report;
- `bench`, `rehearsal`: the task's benchmark sections.

Nothing is imported here: `tfxmodal.registry` imports `task` when the task is asked for.
"""
