"""What the example drivers share: an Adam loop that prints the loss as it falls, a loss
plot, and the command line (`--steps N`, `--plot out.png`).

A driver defines `main(steps=..., plot=None) -> (first_loss, last_loss)` and ends with
`training.command_line(main, __doc__)`.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import numpy as np

PLOT_HINT = "--plot needs matplotlib, which is not installed: pip install 'ddc[plot]' (or pip install matplotlib)"


def adam(loss_and_grads: Callable, params: Sequence[np.ndarray], data: Sequence | Callable[[int], Sequence],
         steps: int, lr: float, every: int = 10,
         report: Callable[[list[np.ndarray]], str] | None = None) -> list[float]:
    """Minimise `loss_and_grads(*params, *data) -> (loss, grads)` over `params` (updated in
    place) with Adam. `data` is the arguments after the parameters, or a function of the
    step that gives them (a fresh batch per step). Prints the loss every `every` steps (and
    `report(params)`, if given). Returns the loss at every step and after the last one."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    history = []
    for step in range(steps + 1):
        loss, grads = loss_and_grads(*params, *(data(step) if callable(data) else data))
        history.append(float(loss))
        if step % every == 0 or step == steps:
            extra = f"  {report(list(params))}" if report else ""
            print(f"step {step:4d}  loss {float(loss):.4g}{extra}", flush=True)
        if step == steps:
            break
        for p, g, m, v in zip(params, grads, first, second):
            m += (1 - beta1) * (g - m)
            v += (1 - beta2) * (g * g - v)
            m_hat = m / (1 - beta1 ** (step + 1))
            v_hat = v / (1 - beta2 ** (step + 1))
            p -= (lr * m_hat / (np.sqrt(v_hat) + eps)).astype(p.dtype)
    return history


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise SystemExit(PLOT_HINT) from None


def plot(history: Sequence[float], path: str, title: str) -> None:
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(range(len(history)), history)
    ax.set(xlabel="step", ylabel="loss", title=title)
    if min(history) > 0 and max(history) > 10 * min(history):
        ax.set_yscale("log")  # a loss that falls by decades
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def command_line(main: Callable, description: str | None, argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the example's own)")
    parser.add_argument("--plot", metavar="OUT.png", default=None, help="save the loss curve (needs matplotlib)")
    args = parser.parse_args(argv)
    if args.plot:
        require_matplotlib()  # before training, not after it
    options = {"plot": args.plot}
    if args.steps is not None:
        if args.steps < 1:
            parser.error("--steps must be at least 1")
        options["steps"] = args.steps
    first, last = main(**options)
    print(f"loss {first:.4g} -> {last:.4g}")
