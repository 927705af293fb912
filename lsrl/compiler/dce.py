"""Dead-code removal: keep the nodes that some output reads (and every input), in topological order.
After folding, terms dropped as zero or constant can leave whole subgraphs unread."""
from __future__ import annotations

import dataclasses

from lsrl.lang.graph import CheckedProgram, Node


def live_nodes(program: CheckedProgram) -> set[Node]:
    """Nodes reachable backwards from the outputs, plus the inputs."""
    live: set[Node] = set(program.inputs)
    stack = [node for _, node in program.outputs]
    while stack:
        node = stack.pop()
        if node not in live:
            live.add(node)
            stack.extend(node.inputs())
    return live


def eliminate_dead_code(program: CheckedProgram) -> CheckedProgram:
    live = live_nodes(program)
    return dataclasses.replace(program, nodes=tuple(n for n in program.nodes if n in live),
                               labels={n: label for n, label in program.labels.items() if n in live})
