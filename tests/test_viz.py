"""Pictures of the IR: the SVG that graphviz renders is parsed back, and its node labels are
checked against the graph (primitive names, params, types, DSL names, outputs, origins)."""
from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET

import graphviz
import pytest

from ddc import ir, viz
from ddc.cli import main
from ddc.function import graph_function
from ddc.ir import Builder, Sym, TensorType, Value, f32, i32
from ddc.ir.printer import Namer
from ddc.passes.autodiff import grad

SVG = "{http://www.w3.org/2000/svg}"

# Rendering needs graphviz's `dot`. Without it a developer's run skips this module with the
# reason; CI (CI=true) installs `dot` and never skips, so a missing `dot` fails there.
pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="graphviz's `dot` is not installed (apt-get install graphviz)")


def mlp_loss() -> ir.Graph:
    """Cross-entropy of a two-layer perceptron, as the front-end would lower it."""
    b = Builder()
    W1 = Value(TensorType(f32, ("d", "h")), "W1")
    b1 = Value(TensorType(f32, ("h",)), "b1")
    W2 = Value(TensorType(f32, ("h", "c")), "W2")
    x = Value(TensorType(f32, ("b", "d")), "x")
    y = Value(TensorType(i32, ("b",)), "y")
    xw = b.dot_general(x, W1, contract=((1,), (0,)), batch=((), ()))
    pre = b.add(xw, b.broadcast_in_dim(b1, shape=xw.shape, broadcast_dimensions=(1,)))
    h1 = b.bind("max", pre, b.zeros(pre.type), name="h1")
    logits = b.bind("dot_general", h1, W2, contract=((1,), (0,)), batch=((), ()), name="logits")
    m = b.stop_gradient(b.reduce_max(logits, axes=(1,)))
    z = b.sub(logits, b.broadcast_in_dim(m, shape=logits.shape, broadcast_dimensions=(0,)))
    lse = b.log(b.reduce_sum(b.exp(z), axes=(1,)))
    nll = b.bind("sub", lse, b.gather(z, y, axis=1, batch_dims=1), name="nll")
    batch = b.convert(b.scalar(Sym.name("b"), i32), dtype=f32)
    loss = b.bind("div", b.reduce_sum(nll, axes=(0,)), batch, name="loss")
    return ir.verify(b.graph([W1, b1, W2, x, y], [loss], "loss"))


def svg_nodes(svg: str) -> dict[str, list[str]]:
    """Each drawn node's dot id -> the text fragments of its label, in order."""
    root = ET.fromstring(svg)
    nodes = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "node":
            title = g.find(f"{SVG}title").text
            nodes[title] = [t.text.strip() for t in g.iter(f"{SVG}text") if t.text and t.text.strip()]
    return nodes


def node_named(nodes: dict[str, list[str]], name: str) -> list[str]:
    (texts,) = [texts for texts in nodes.values() if texts and texts[0] == name]
    return texts


def edge_dashes(svg: str) -> dict[tuple[str, str], str | None]:
    """(tail label, head label) -> the dash pattern of that edge (None: solid)."""
    names = {dot_id: texts[0] for dot_id, texts in svg_nodes(svg).items()}
    out = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") == "edge":
            tail, head = g.find(f"{SVG}title").text.split("->")
            out[names[tail], names[head]] = next(g.iter(f"{SVG}path")).get("stroke-dasharray")
    return out


def node_centres(svg: str) -> dict[str, tuple[float, float]]:
    """The first label fragment of each node -> where it is drawn."""
    out = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        texts = list(g.iter(f"{SVG}text"))
        if g.get("class") == "node" and texts:
            out[texts[0].text] = (float(texts[0].get("x")), float(texts[0].get("y")))
    return out


def fill_of(svg: str, name: str) -> str:
    """The fill colour of the shape of the node whose label starts with `name`."""
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        texts = [t.text for t in g.iter(f"{SVG}text")]
        if g.get("class") == "node" and texts and texts[0] == name:
            return next(s.get("fill") for s in g if s.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse"))
    raise AssertionError(f"no node {name}")


# -- forward, gradient and fused graphs ----------------------------------------------------

def test_forward_graph_labels():
    g = mlp_loss()
    svg = viz.render_svg(g)
    nodes = svg_nodes(svg)
    assert node_named(nodes, "%x") == ["%x", "f32[b,d]"]
    assert node_named(nodes, "%y") == ["%y", "i32[b]"]
    assert node_named(nodes, "%logits") == ["%logits", "= dot_general", "contract=((1,),(0,))", "f32[b,c]"]
    # the zeros of relu are folded into max's label; the output says which one it is
    assert node_named(nodes, "%h1") == ["%h1", "= max", "0.0", "f32[b,h]"]
    assert node_named(nodes, "%loss") == ["%loss", "= div", "1: f32(b)", "f32[]", "output 0"]
    # unnamed values are numbered as `ddc ir` numbers them
    printed = str(g)
    assert "%5:f32[b] = reduce_max[axes=(1,)] %logits" in printed
    assert node_named(nodes, "%5") == ["%5", "= reduce_max", "axes=(1,)", "f32[b]"]
    assert node_named(nodes, "%12") == ["%12", "= gather", "axis=1 batch_dims=1", "f32[b]"]
    # one picture node per input and per node, less the 4 folded constants (0.0, its
    # broadcast, b and its convert); one forward origin, so the legend shows only edges
    assert len(nodes) == len(g.inputs) + len(g.nodes) - 4 + 1
    assert nodes["legend"] == ["edges: solid float, dashed int"]
    # inputs in one row, in the signature's order
    centres = node_centres(svg)
    xs, ys = zip(*(centres[f"%{v.name}"] for v in g.inputs))
    assert list(xs) == sorted(xs) and len(set(ys)) == 1
    # int edges (the labels y) are dashed, float ones solid
    dashes = edge_dashes(svg)
    assert dashes[("%y", "%12")] == "5,2"
    assert dashes[("%x", "%0")] is None


def test_forward_graph_unfolded():
    g = mlp_loss()
    nodes = svg_nodes(viz.to_dot(g, collapse_constants=False).pipe(format="svg", encoding="utf-8"))
    assert len(nodes) == len(g.inputs) + len(g.nodes) + 1
    assert node_named(nodes, "%3") == ["%3", "= constant", "0.0", "f32[]"]
    assert node_named(nodes, "%13") == ["%13", "= constant", "b", "i32[]"]
    assert node_named(nodes, "%14") == ["%14", "= convert", "f32", "f32[]"]
    assert node_named(nodes, "%h1") == ["%h1", "= max", "f32[b,h]"]


def test_gradient_graph_labels_and_colours():
    g = grad(mlp_loss(), (0, 1, 2))
    svg = viz.render_svg(g)
    nodes = svg_nodes(svg)
    assert node_named(nodes, "%grad_W1") == ["%grad_W1", "= dot_general", "contract=((0,),(0,))", "f32[d,h]", "output 0"]
    assert node_named(nodes, "%grad_b1") == ["%grad_b1", "= reduce_sum", "axes=(0,)", "f32[h]", "output 1"]
    assert node_named(nodes, "%grad_W2")[-2:] == ["f32[h,c]", "output 2"]
    # the softmax cotangent's scaffolding, -(1/b) broadcast over the batch, is one expression
    (scatter,) = [t for t in nodes.values() if "= scatter_add" in t]
    assert scatter[2:] == ["axis=1 batch_dims=1", "0: -(1.0 / f32(b)) : f32[b]", "f32[b,c]"]
    assert not [t for t in nodes.values() if "= constant" in t]
    assert nodes["legend"] == ["primal", "cotangent", "residual", "edges: solid float, dashed int, dotted bool"]
    assert fill_of(svg, "%W1") == viz.ORIGIN_COLORS["primal"]
    assert fill_of(svg, "%logits") == viz.ORIGIN_COLORS["primal"]
    assert fill_of(svg, "%h1") == viz.ORIGIN_COLORS["residual"]
    assert fill_of(svg, "%grad_W1") == viz.ORIGIN_COLORS["cotangent"]


def test_fused_graph_draws_kernels_as_clusters():
    from ddc.codegen.triton.partition import partition

    g = grad(mlp_loss(), (0, 1, 2))
    groups = partition(g).groups
    svg = viz.to_dot(g, kernels=True).pipe(format="svg", encoding="utf-8")
    boxes, centres = {}, node_centres(svg)
    for e in ET.fromstring(svg).iter(f"{SVG}g"):
        if e.get("class") == "cluster":
            corners = [float(c) for c in re.findall(r"-?\d+\.?\d*", next(e.iter(f"{SVG}path")).get("d"))]
            xs, ys = corners[0::2], corners[1::2]
            texts = [t.text for t in e.iter(f"{SVG}text")]
            boxes[e.find(f"{SVG}title").text] = (texts, (min(xs), max(xs), min(ys), max(ys)))
    name = Namer()
    for v in g.inputs + [n.out for n in g.nodes]:
        name(v)
    folded = viz.constant_producers(g)
    clustered = [(k, grp, [n for n in grp.nodes if n.out.id not in folded]) for k, grp in enumerate(groups)]
    assert set(boxes) == {f"cluster_k{k}" for k, _, drawn in clustered if drawn}
    assert len(boxes) > 1
    for k, grp, drawn in clustered:
        if drawn:
            label, (x0, x1, y0, y1) = boxes[f"cluster_k{k}"]
            assert label == [f"kernel {grp.id}: {grp.kind}"]
            for n in drawn:
                x, y = centres[f"%{name(n.out)}"]
                assert x0 < x < x1 and y0 < y < y1, (grp, n)


# -- options -------------------------------------------------------------------------------

def test_rankdir_and_minted_ids():
    g = mlp_loss()
    source = viz.to_dot(g, rankdir="LR").source
    assert "rankdir=LR" in source
    assert "n0 [" in source and f"n{len(g.inputs) + len(g.nodes) - 5} [" in source
    with pytest.raises(ValueError, match="rankdir must be one of TB, LR, BT, RL"):
        viz.to_dot(g, rankdir="sideways")


def test_folded_constant_expressions():
    """iota, broadcasts, converts and arithmetic on constants read as one expression."""
    b = Builder()
    x = Value(TensorType(f32, (3,)), "x")
    table = Value(TensorType(f32, (2, 3)), "table")
    cols = b.iota(shape=(3,), dimension=0, dtype=f32)
    scale = b.div(b.scalar(2.0, f32), b.convert(b.scalar(Sym.name("n"), i32), dtype=f32))
    weights = b.mul(cols, b.broadcast_in_dim(scale, shape=(3,), broadcast_dimensions=()))
    centered = b.bind("sub", x, weights, name="centered")
    shifted = b.bind("add", b.broadcast_in_dim(cols, shape=(2, 3), broadcast_dimensions=(1,)), table,
                     name="shifted")
    nodes = svg_nodes(viz.render_svg(b.graph([x, table], [centered, shifted], "center")))
    assert set(nodes) == {"n0", "n1", "n2", "n3"}
    assert node_named(nodes, "%centered") == [
        "%centered", "= sub", "1: iota(f32[3], dim=0) * (2.0 / f32(n))", "f32[3]", "output 0"]
    assert node_named(nodes, "%shifted") == [
        "%shifted", "= add", "broadcast(iota(f32[3], dim=0), [2,3])", "f32[2,3]", "output 1"]


def test_long_folded_expressions_are_cut():
    b = Builder()
    x = Value(TensorType(f32, ()), "x")
    c = b.scalar(1.0, f32)
    for k in range(20):
        c = b.add(c, b.scalar(float(k), f32))
    out = b.bind("mul", x, c, name="y")
    nodes = svg_nodes(viz.render_svg(b.graph([x], [out], "f")))
    (folded,) = node_named(nodes, "%y")[2:3]
    assert len(folded) == viz.EXPRESSION_WIDTH and folded.endswith("…")
    assert folded.startswith("((((((")


def test_labels_are_escaped():
    b = Builder()
    x = Value(TensorType(f32, ("n",)), 'x<&>"\'\\N')
    out = b.bind("exp", x, name="y\\G")
    g = b.graph([x], [out], 'bad"name\\')
    svg = viz.render_svg(g)
    nodes = svg_nodes(svg)
    assert node_named(nodes, '%x<&>"\'\\N') == ['%x<&>"\'\\N', "f32[n]"]
    assert node_named(nodes, "%y\\G") == ["%y\\G", "= exp", "f32[n]", "output 0"]
    assert 'bad"name\\' in [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_function_pictures():
    f = graph_function("loss", mlp_loss())
    assert isinstance(f.to_dot(rankdir="LR"), graphviz.Digraph)
    assert "%logits" in [t for texts in svg_nodes(f._repr_svg_()).values() for t in texts]


# -- files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF"),
                                           (".dot", b"digraph loss {")])
def test_write_formats(tmp_path, suffix, magic):
    path = tmp_path / f"loss{suffix}"
    message = viz.write(mlp_loss(), path)
    assert path.read_bytes().startswith(magic)
    assert message.startswith(f"wrote {path} (graph loss, 20 nodes")
    assert "\n" not in message


def test_write_rejects_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf or \.dot"):
        viz.write(mlp_loss(), tmp_path / "loss.jpg")
    assert list(tmp_path.iterdir()) == []


def missing_on_path(monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)


def missing_when_run(monkeypatch):
    def pipe(*args, **kwargs):
        raise graphviz.ExecutableNotFound(("dot", "-Tsvg"))

    monkeypatch.setattr(graphviz.Digraph, "pipe", pipe)


@pytest.mark.parametrize("hide_dot", [missing_on_path, missing_when_run])
def test_without_dot_the_source_is_written(tmp_path, monkeypatch, hide_dot):
    hide_dot(monkeypatch)
    g = mlp_loss()
    path = tmp_path / "pictures" / "loss.svg"
    path.parent.mkdir()
    message = viz.write(g, path)
    source = path.with_suffix(".dot")
    assert not path.exists()
    assert source.read_text() == viz.to_dot(g).source
    assert "\n" not in message
    assert f"wrote {source} instead of {path}" in message
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert f"dot -Tsvg {source} -o {path}" in message
    assert viz.render_svg(g) is None


# -- the `ddc viz` command -----------------------------------------------------------------

TANH_LOSS = """\
def loss(W: f32[d, c], x: f32[b, d]) -> f32:
    h = tanh(x @ W)
    return mean(h * h)
"""


def test_cli_draws_a_gradient(tmp_path, capsys):
    source = tmp_path / "model.dd"
    source.write_text(TANH_LOSS)
    out = tmp_path / "grad.svg"
    assert main(["viz", str(source), "loss", "--grad", "0", "--lr", "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} (graph grad_loss, 13 nodes)\n"
    nodes = svg_nodes(out.read_text())
    assert node_named(nodes, "%W") == ["%W", "f32[d,c]"]
    assert node_named(nodes, "%h") == ["%h", "= tanh", "f32[b,c]"]
    assert node_named(nodes, "%grad_W") == ["%grad_W", "= dot_general", "contract=((0,),(0,))", "f32[d,c]", "output 0"]
    # d(mean(h*h))/dh = 2h/(b*c): the constants fold into one expression
    assert ["(1.0 / (b*c)) + (1.0 / (b*c))", "f32[b,c]"] in [t[2:] for t in nodes.values()]


def test_cli_reports_a_bad_suffix_and_a_missing_dot(tmp_path, capsys, monkeypatch):
    source = tmp_path / "model.dd"
    source.write_text(TANH_LOSS)
    assert main(["viz", str(source), "loss", "-o", str(tmp_path / "loss.jpg")]) == 1
    assert ".svg, .png, .pdf or .dot" in capsys.readouterr().err
    missing_on_path(monkeypatch)
    assert main(["viz", str(source), "loss", "-o", str(tmp_path / "loss.png")]) == 0
    assert "apt-get install graphviz" in capsys.readouterr().out
    assert (tmp_path / "loss.dot").read_text().startswith("digraph loss {")
