"""FLOPs of a traced TensorFlow function, counted from the shapes of its matrix products and convolutions.

`matmul_flops(function, *args)` traces `function` (a `tf.function`, e.g. a
trainer's `train_step`, gradients included) and adds, over every op of the
graph and of the functions it calls, 2 × the multiply-accumulates of

- `MatMul`, `BatchMatMul*`: m · k · n (per batch entry);
- `Conv2D`: output positions · kernel positions · input channels · output
  channels (Keras's `Conv1D` is a `Conv2D` of height 1);
- `Conv2DBackpropInput`: the same for the convolution whose input gradient
  it computes — also how `Conv1DTranspose`'s forward pass runs;
- `Conv2DBackpropFilter`: the same for the convolution whose kernel
  gradient it computes.

Element-wise work (activations, batch norm, bias, the optimizers' updates)
and FFTs are left out: at the paper's widths they are a small share of the
convolutions' (tested against a hand count of the WaveGAN generator). The
count needs static shapes (trace with fixed batch sizes) and no loops in
the graph (`tf.while_loop` bodies would have to be multiplied by a count
the graph does not hold); it raises `ValueError` otherwise.
"""

import numpy as np

_LOOPS = ("While", "StatelessWhile")
_CALLS = ("PartitionedCall", "StatefulPartitionedCall")


def _shape(tensor):
    shape = tensor.shape
    if shape.rank is None or any(dim is None for dim in shape.as_list()):
        raise ValueError(f"{tensor.name}: shape {shape} is not static; trace with fixed batch sizes")
    return shape.as_list()


def op_macs(op):
    """Multiply-accumulates of one graph op (0 for ops that are not products or convolutions)."""
    kind = op.type
    if kind == "MatMul":
        a, b = (_shape(t) for t in op.inputs[:2])
        rows = a[1] if op.get_attr("transpose_a") else a[0]
        inner = a[0] if op.get_attr("transpose_a") else a[1]
        columns = b[0] if op.get_attr("transpose_b") else b[1]
        return rows * inner * columns
    if kind.startswith("BatchMatMul"):
        a, b = (_shape(t) for t in op.inputs[:2])
        adjoint_a = op.get_attr("adj_x") if "adj_x" in op.node_def.attr else False
        adjoint_b = op.get_attr("adj_y") if "adj_y" in op.node_def.attr else False
        rows, inner = (a[-1], a[-2]) if adjoint_a else (a[-2], a[-1])
        columns = b[-2] if adjoint_b else b[-1]
        batch = int(np.prod(np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))))  # either may broadcast
        return batch * rows * inner * columns
    if kind == "Conv2D":
        output = _shape(op.outputs[0])
        kernel = _shape(op.inputs[1])  # (kh, kw, in, out)
        return int(np.prod(output[:-1])) * int(np.prod(kernel))
    if kind == "Conv2DBackpropInput":
        kernel = _shape(op.inputs[1])
        gradient = _shape(op.inputs[2])  # the forward convolution's output (gradient)
        return int(np.prod(gradient[:-1])) * int(np.prod(kernel))
    if kind == "Conv2DBackpropFilter":
        gradient = _shape(op.inputs[2])
        kernel = _shape(op.outputs[0])  # the kernel gradient has the kernel's shape
        return int(np.prod(gradient[:-1])) * int(np.prod(kernel))
    return 0


def graph_macs(graph, seen=None):
    """Multiply-accumulates of every op of `graph` and of the functions its call ops run."""
    seen = set() if seen is None else seen
    total = 0
    for op in graph.get_operations():
        if op.type in _LOOPS:
            raise ValueError(f"{op.name}: a {op.type} loop; its trip count is not in the graph")
        total += op_macs(op)
        if op.type in _CALLS or op.type == "If" or op.type == "StatelessIf":
            for attribute in ("f", "then_branch", "else_branch"):
                if attribute in op.node_def.attr:
                    name = op.node_def.attr[attribute].func.name
                    function = graph._get_function(name)
                    if function is None:
                        continue
                    total += graph_macs(function.graph, seen)
    return total


def matmul_flops(function, *args):
    """FLOPs (2 × multiply-accumulates) of one call of `function` (a `tf.function`) on `args`."""
    concrete = function.get_concrete_function(*args)
    return 2 * graph_macs(concrete.graph)
