"""The cost estimate under Generate, for a model that bills its input images' megapixels (BFL's FLUX.2): an uploaded
image is measured, not assumed to be 1 MP."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from PIL import Image

from app import make_backends, make_context
from components.endpoint_tab import _estimate_text
from endpoints import get_endpoint
from providers.registry import ProviderSettings

FLUX2_PRO = get_endpoint("bfl_flux_2_pro")  # $0.03 the first MP, $0.015 each further one, inputs counted


def test_an_uploaded_input_image_is_priced_at_its_own_size(tmp_path: Path) -> None:
    ctx = make_context(make_backends(ProviderSettings(), sandbox_url="http://127.0.0.1:9"), {})
    ctx.runner.upload_roots = (tmp_path,)  # where this test's upload is
    Image.new("RGB", (2048, 2048), (10, 10, 10)).save(tmp_path / "big.png")
    wire = {"prompt": "x", "width": 1024, "height": 1024, "input_image": str(tmp_path / "big.png")}
    line = _estimate_text(ctx, FLUX2_PRO, wire, None)
    assert "$0.09" in line and "inputs 4 MP" in line, line  # $0.03 + 4 MP × $0.015
    assert "estimated at 1 MP" not in line
    # the same image by URL: its size is not read here, 1 MP is assumed and the line says so
    line = _estimate_text(ctx, FLUX2_PRO, {**wire, "input_image": "https://example.com/big.png"}, None)
    assert "$0.045" in line and "inputs estimated at 1 MP each (1 input image)" in line, line
    # a file outside the uploads is never read
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere.png"
    Image.new("RGB", (2048, 2048)).save(elsewhere)
    try:
        assert "inputs estimated at 1 MP" in _estimate_text(ctx, FLUX2_PRO, {**wire, "input_image": str(elsewhere)},
                                                             None)
    finally:
        elsewhere.unlink()


async def test_a_sweeps_plan_prices_each_cells_input_image_at_its_size(tmp_path: Path) -> None:
    from components.models_tab import WireForm
    from components.sweep_run import SweepTarget, plan_off_loop

    ctx = make_context(make_backends(ProviderSettings(), sandbox_url="http://127.0.0.1:9"), {})
    ctx.runner.upload_roots = (tmp_path,)
    Image.new("RGB", (2048, 2048), (10, 10, 10)).save(tmp_path / "big.png")
    values = {"prompt": "x", "width": 1024, "height": 1024, "input_image": str(tmp_path / "big.png")}
    plan, _ = await plan_off_loop(SweepTarget(FLUX2_PRO, WireForm(FLUX2_PRO), ctx), values, None,
                                  "seed", "1, 2, 3", None, None, draw=1)
    assert len(plan.cells) == 3
    cost = plan.run_cost or plan.estimated_cost
    assert cost.usd == 0.27 and "inputs 4 MP" in cost.basis, cost  # 3 × ($0.03 + 4 × $0.015)


def test_after_a_run_the_line_made_from_the_form_stays(tmp_path: Path) -> None:
    """The record keeps an uploaded input sent inline (BFL) not at all, and one uploaded to fal as its URL: the
    estimate made again from it said "inputs 0 MP" ($0.07 for a $0.19 run), so for such a price it is left as is."""
    import gradio as gr

    from components.endpoint_tab import estimate_after_run

    ctx = make_context(make_backends(ProviderSettings(), sandbox_url="http://127.0.0.1:9"), {})
    tab = SimpleNamespace(spec=FLUX2_PRO, ctx=ctx)
    record = {"input": {"prompt": "x", "width": 1024, "height": 1024}}  # the upload went inline: not in the input
    assert estimate_after_run(tab, record, None) == gr.skip()
    flux_pro = SimpleNamespace(spec=get_endpoint("flux_pro"), ctx=ctx)  # a price that does not count inputs
    assert "$0.05" in estimate_after_run(flux_pro, {"input": {"prompt": "x", "image_size": "square_hd"}}, None)


def test_the_estimate_is_written_in_dollars_and_cents(tmp_path: Path) -> None:
    """It read "$0.1" where the status line after the run read "$0.10" (a general number format)."""
    ctx = make_context(make_backends(ProviderSettings(), sandbox_url="http://127.0.0.1:9"), {})
    ctx.runner.upload_roots = (tmp_path,)
    Image.new("RGB", (1024, 1024), (10, 10, 10)).save(tmp_path / "one.png")
    wire = {"prompt": "x", "width": 1024, "height": 1024, "input_image": str(tmp_path / "one.png")}
    line = _estimate_text(ctx, get_endpoint("bfl_flux_2_max"), wire, None)  # $0.07 + 1 further MP × $0.03
    assert "Estimate: **$0.10**" in line, line
