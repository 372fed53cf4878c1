"""A third paper in one package: the smallest task tfxmodal trains, evaluates and ablates (tests only).

`tests/tasks/test_new_paper.py` copies the package, puts this folder beside
`face2music/` and `car_gan/` as `tfxmodal/toy_paper/`, adds one line to the
registry and runs the commands on it: nothing else has to change.
"""
