"""The task-specific sections of `python -m tfxmodal.bench` (each task declares its own in `Task.benchmarks`)."""
