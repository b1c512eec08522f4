"""The Space a user would write instead of the app: one Gradio function that awaits the official ``fal_client`` and
returns the image and the result JSON. The benchmarks' peer (``benchmarks/vs_space.py``).

    python benchmarks/peer_space.py --sandbox http://127.0.0.1:PORT [--port 0]

It prints ``PEER_URL=<url>`` once it serves, and stops when its stdin closes (the benchmark ended) or after an hour.
``fal_client`` is pointed at the sandbox's fal routes the way ``tests/sandbox/test_fal_client_conformance.py`` does
it. The function returns the image URL (as text: a ``gr.Image`` would fetch it, and Gradio's SSRF guard refuses
127.0.0.1) and the result as JSON. Launched with ``default_concurrency_limit=None``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

ENDPOINT = "fal-ai/flux-pro"
MAX_LIFETIME = 3600.0


def build(sandbox_url: str, width: int = 256, height: int = 256, steps: int = 28) -> Any:
    import fal_client
    import gradio as gr
    from fal_client import client as fal_module

    fal_module.QUEUE_URL_FORMAT = f"{sandbox_url}/fal/queue/"
    fal_module.REST_URL = f"{sandbox_url}/fal/rest"
    fal_module.CDN_URL = f"{sandbox_url}/fal/cdn"
    client = fal_client.AsyncClient(key="benchmark:sandbox")

    async def generate(prompt: str, seed: float) -> tuple[str, dict[str, Any]]:
        result = await client.subscribe(
            ENDPOINT,
            arguments={"prompt": prompt, "seed": int(seed), "image_size": {"width": width, "height": height},
                       "num_inference_steps": steps, "guidance_scale": 3.5, "num_images": 1,
                       "safety_tolerance": "2", "output_format": "jpeg"},
            with_logs=True,
        )
        return result["images"][0]["url"], result

    with gr.Blocks(title="FLUX pro") as demo:
        prompt = gr.Textbox(label="Prompt", value="a lighthouse at dusk")
        seed = gr.Number(label="Seed", value=42, precision=0)
        button = gr.Button("Generate", variant="primary", elem_id="generate")
        image = gr.Textbox(label="Image URL")
        result = gr.JSON(label="Result")
        button.click(generate, [prompt, seed], [image, result], api_name="generate")
    demo.queue(default_concurrency_limit=None)
    return demo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sandbox", required=True, help="the sandbox's base URL")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--steps", type=int, default=28)
    args = parser.parse_args()
    port = args.port
    if not port:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from harness import free_port

        port = free_port()
    demo = build(args.sandbox, args.width, args.height, args.steps)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    print(f"PEER_URL={url.rstrip('/')}", flush=True)
    closed = threading.Event()

    def watch_stdin() -> None:
        with contextlib.suppress(Exception):
            sys.stdin.read()
        closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    closed.wait(MAX_LIFETIME)
    demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
