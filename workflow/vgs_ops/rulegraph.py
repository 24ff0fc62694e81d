"""Draw ``snakemake --rulegraph`` output as a picture for the README, without Graphviz.

Why: Graphviz is a system package a user may not have; the rule graph is small enough that a
layered drawing (each rule placed one layer below its deepest input) with matplotlib reads well.
Usage: ``snakemake --rulegraph | python -m vgs_ops.rulegraph workflow/report/rulegraph.svg``.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

NODE = re.compile(r'^\s*(\d+)\s*\[\s*label\s*=\s*"([^"]+)"')
EDGE = re.compile(r"^\s*(\d+)\s*->\s*(\d+)")


def parse_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Return node labels by id and edges (source, target) of a Snakemake DOT graph."""
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for line in text.splitlines():
        if match := NODE.match(line):
            nodes[match.group(1)] = match.group(2)
        elif match := EDGE.match(line):
            edges.append((match.group(1), match.group(2)))
    if not nodes:
        raise ValueError("no nodes found: is this `snakemake --rulegraph` output?")
    return nodes, edges


def layers(nodes: dict[str, str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering: a rule sits one layer below its deepest input."""
    parents: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        parents[target].append(source)
    depth: dict[str, int] = {}

    def visit(node: str, stack: frozenset[str] = frozenset()) -> int:
        if node in stack:
            raise ValueError(f"cycle through rule {nodes[node]}")
        if node not in depth:
            depth[node] = 1 + max((visit(p, stack | {node}) for p in parents[node]), default=-1)
        return depth[node]

    for node in nodes:
        visit(node)
    return depth


def order_layers(by_layer: dict[int, list[str]], edges: list[tuple[str, str]], sweeps: int = 8) -> dict[int, list[str]]:
    """Reorder each layer by the mean position of its neighbours (barycentre heuristic).

    Why: alphabetical order inside a layer crosses many edges; alternating downward and upward
    sweeps that place a rule under the average of its inputs (then above its outputs) untangle
    a DAG of this size well, with no layout engine.
    """
    neighbours: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        neighbours[source].append(target)
        neighbours[target].append(source)
    order = {layer: list(members) for layer, members in by_layer.items()}
    rank = {node: i for members in order.values() for i, node in enumerate(members)}
    depths = sorted(order)
    for sweep in range(sweeps):
        for layer in depths if sweep % 2 == 0 else reversed(depths):
            side = layer - 1 if sweep % 2 == 0 else layer + 1

            def barycentre(node: str, side: int = side, layer: int = layer) -> float:
                adjacent = [rank[n] for n in neighbours[node] if n in order.get(side, ())]
                return sum(adjacent) / len(adjacent) if adjacent else rank[node]

            order[layer].sort(key=barycentre)
            rank.update({node: i for i, node in enumerate(order[layer])})
    return order


def crossings(by_layer: dict[int, list[str]], edges: list[tuple[str, str]]) -> int:
    """Number of pairs of edges between adjacent layers that cross."""
    rank = {node: i for members in by_layer.values() for i, node in enumerate(members)}
    layer_of = {node: layer for layer, members in by_layer.items() for node in members}
    spans = [(rank[s], rank[t], layer_of[s]) for s, t in edges if layer_of[t] == layer_of[s] + 1]
    return sum(
        1
        for i, (a0, a1, la) in enumerate(spans)
        for b0, b1, lb in spans[i + 1 :]
        if la == lb and (a0 - b0) * (a1 - b1) < 0
    )


def draw(text: str, out: Path) -> None:
    """Render the graph to ``out`` (format from its suffix: .svg, .png, .pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nodes, edges = parse_dot(text)
    # Snakemake numbers rules and lists edges in a varying order; draw in order of names.
    edges = sorted(edges, key=lambda edge: (nodes[edge[0]], nodes[edge[1]]))
    depth = layers(nodes, edges)
    by_layer: dict[int, list[str]] = defaultdict(list)
    for node in sorted(nodes, key=lambda n: nodes[n]):
        by_layer[depth[node]].append(node)
    by_layer = order_layers(by_layer, edges)
    width = max(len(members) for members in by_layer.values())
    position = {
        node: ((i + 0.5) * width / len(members), -layer)
        for layer, members in by_layer.items()
        for i, node in enumerate(members)
    }
    fig, ax = plt.subplots(figsize=(max(8, 2.3 * width), 1.1 * (len(by_layer) + 1)))
    for source, target in edges:
        (x0, y0), (x1, y1) = position[source], position[target]
        ax.annotate(
            "",
            xy=(x1, y1 + 0.18),
            xytext=(x0, y0 - 0.18),
            arrowprops={"arrowstyle": "->", "color": "#888888", "lw": 0.8},
        )
    for node, (x, y) in position.items():
        ax.text(
            x,
            y,
            nodes[node],
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.35", "fc": "#eef3fb", "ec": "#4a6fa5"},
        )
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(-max(by_layer) - 0.6, 0.6)
    ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    # No timestamp and fixed element ids: regenerating an unchanged graph changes no byte.
    with matplotlib.rc_context({"svg.hashsalt": "vgs-rulegraph"}):
        fig.savefig(out, metadata={"Date": None} if out.suffix in (".svg", ".pdf") else None)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: snakemake --rulegraph | python -m vgs_ops.rulegraph OUT.svg", file=sys.stderr)
        return 2
    draw(sys.stdin.read(), Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
