"""The README's rule-graph picture is drawn from real `snakemake --rulegraph` DOT."""

from __future__ import annotations

import pytest

from vgs_ops.rulegraph import crossings, draw, layers, order_layers, parse_dot

DOT = """digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
    0[label = "all", color = "0.0 0.6 0.85", style="rounded"];
    1[label = "train", color = "0.1 0.6 0.85", style="rounded"];
    2[label = "mfcc", color = "0.2 0.6 0.85", style="rounded"];
    3[label = "load_corpus", color = "0.3 0.6 0.85", style="rounded"];
    3 -> 2
    2 -> 1
    3 -> 1
    1 -> 0
}"""


def test_layers_follow_longest_path():
    nodes, edges = parse_dot(DOT)
    assert nodes == {"0": "all", "1": "train", "2": "mfcc", "3": "load_corpus"}
    assert layers(nodes, edges) == {"3": 0, "2": 1, "1": 2, "0": 3}


def test_cycle_and_garbage_are_rejected():
    nodes, edges = parse_dot(DOT)
    with pytest.raises(ValueError, match="cycle"):
        layers(nodes, edges + [("0", "3")])
    with pytest.raises(ValueError, match="no nodes"):
        parse_dot("not a graph")


def test_draw_writes_svg(tmp_path):
    out = tmp_path / "graph.svg"
    draw(DOT, out)
    text = out.read_text()
    assert text.startswith("<?xml") and "load_corpus" in text


def test_ordering_untangles_crossed_layers():
    # a -> y, b -> x: alphabetical order inside each layer crosses the two edges.
    by_layer = {0: ["a", "b"], 1: ["x", "y"]}
    edges = [("a", "y"), ("b", "x")]
    assert crossings(by_layer, edges) == 1
    ordered = order_layers(by_layer, edges)
    assert crossings(ordered, edges) == 0
    assert sorted(ordered[0]) == ["a", "b"] and sorted(ordered[1]) == ["x", "y"]
