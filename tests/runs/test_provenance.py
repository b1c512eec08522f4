"""Images that carry their parameters: A1111 text, embedding in PNG/JPEG/WebP without touching pixels, reading back
anything (ours, A1111's, nothing, garbage), and mapping what was read onto an endpoint's form."""

from __future__ import annotations

import io
import json
import math
import random
import struct
import zlib
from dataclasses import replace

import pytest
from PIL import Image, PngImagePlugin, features

from endpoints import get_endpoint
from endpoints.base import PROMPT_MAX_CHARS
from providers.base import PreparedRequest
from runs.provenance import (
    NO_PARAMETERS,
    a1111_parameters,
    decode_user_comment,
    download_name,
    embed_metadata,
    parse_a1111_parameters,
    read_metadata,
    user_comment,
)
from runs.record import Cost, RunRecord, SecretInRecordError, Timings
from tests.odd_endpoint import ODD, registered

SECRET = "fal-SECRET-0123456789abcdef"
PROMPT = 'A "tiger" eye, close-up: studio light\nsecond line: ünïcødé 🐯'
FLUX_PRO = get_endpoint("flux_pro")
SEGMIND = get_endpoint("segmind_flux_depth_pro")

A1111_TEXT = (
    "masterpiece, best quality, (a lighthouse:1.2) at dusk\n"
    "waves, <lora:add_detail:0.5>\n"
    "Negative prompt: lowres, bad anatomy, text, watermark\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 3229580734, Size: 832x1216, "
    "Model hash: 6ce0161689, Model: sd_xl_base_1.0, Denoising strength: 0.55, "
    'Lora hashes: "add_detail: 7c6bad76eb54, more_details: 3b8aa1d351ef", '
    'Hires prompt: "say \\"hi\\", twice", Version: v1.6.0'
)


def fal_record(**input_changes) -> RunRecord:
    body = {"prompt": PROMPT, "image_size": "landscape_4_3", "num_inference_steps": 28, "seed": 1234,
            "guidance_scale": 3.5, "num_images": 1, "safety_tolerance": "5", "output_format": "jpeg"}
    body.update(input_changes)
    request = PreparedRequest(
        provider="fal", endpoint_id="fal-ai/flux-pro", method="POST", url="https://queue.fal.run/fal-ai/flux-pro",
        headers={"Authorization": "Key <redacted>", "Content-Type": "application/json"}, body_kind="json",
        body=body, secret_headers={"Authorization": f"Key {SECRET}"},
    )
    result = {"endpoint_id": "fal-ai/flux-pro", "request_id": "req-42",
              "images": [{"url": "https://v3.fal.media/files/x.jpg", "width": 1024, "height": 768,
                          "content_type": "image/jpeg"}],
              "seed": 1234, "has_nsfw_concepts": [False], "prompt": PROMPT, "timings": {"inference": 1.5}}
    return RunRecord(id="run-1", endpoint_id="fal-ai/flux-pro", api_name="flux_pro", provider="fal",
                     route="session_key", input=dict(body), state="done", request=request, result=result,
                     request_id="req-42", timings=Timings(1.0, 2.0, 3.0), cost=Cost(0.05, "1 MP × $0.05"))


def noise_image(mode: str = "RGB", size: tuple[int, int] = (64, 48), seed: int = 1) -> Image.Image:
    rng = random.Random(seed)
    channels = len(mode)
    return Image.frombytes(mode, size, bytes(rng.randrange(256) for _ in range(size[0] * size[1] * channels)))


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def decoded(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return out


def jpeg_scan(data: bytes) -> bytes:
    """Everything from SOS on: the compressed image data, which embedding must not change."""
    pos = 2
    while True:
        marker, (length,) = data[pos + 1], struct.unpack(">H", data[pos + 2:pos + 4])
        if marker == 0xDA:
            return data[pos:]
        pos += 2 + length


def jpeg_app1_sizes(data: bytes) -> list[int]:
    sizes, pos = [], 2
    while data[pos + 1] != 0xDA:
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if data[pos + 1] == 0xE1:
            sizes.append(length)
        pos += 2 + length
    return sizes


# --- the A1111 text ---------------------------------------------------------------------------------------------


def test_a1111_text_of_a_fal_run():
    assert a1111_parameters(fal_record()) == (
        'A "tiger" eye, close-up: studio light\n'
        "second line: ünïcødé 🐯\n"
        "Steps: 28, Sampler: Euler, CFG scale: 3.5, Seed: 1234, Size: 1024x768, Model: fal-ai/flux-pro, "
        "Safety tolerance: 5, "
        "Provider: fal, Request ID: req-42"
    )


def test_a1111_text_quotes_values_with_commas_colons_and_quotes():
    record = replace(fal_record(), endpoint_id="fal-ai/unknown")  # unknown endpoint: every scalar is listed
    record = replace(record, input={**record.input, "style": 'warm, "golden": hour', "control_image_url":
                                    "https://example.test/a.png", "inline": "data:image/png;base64,AAAA"})
    text = a1111_parameters(record)
    last = text.splitlines()[-1]
    assert 'Style: "warm, \\"golden\\": hour"' in last and 'Control image url: "https://example.test/a.png"' in last
    assert "data:" not in text  # inline images stay in the record JSON, not in a one-line summary
    parsed = parse_a1111_parameters(text)
    assert parsed.extras["Style"] == 'warm, "golden": hour' and parsed.prompt == PROMPT


def odd_record(**input_changes) -> RunRecord:
    """A run of the throwaway endpoint whose fields have none of the usual names."""
    body = ODD.build_input({**ODD.example, "canvas": {"width": 640, "height": 480}, **input_changes}).to_wire()
    return RunRecord(id="run-odd", endpoint_id=ODD.id, api_name=ODD.api_name, provider="fal", route="sandbox",
                     input=body, state="done", result=None, request_id="req-odd")


def test_negative_prompt_line_only_when_the_input_has_one():
    with registered():
        assert "Negative prompt:" not in a1111_parameters(odd_record())
        text = a1111_parameters(odd_record(avoid="blurry, text"))
    assert text.splitlines()[1] == "Negative prompt: blurry, text"
    assert parse_a1111_parameters(text).negative_prompt == "blurry, text"
    # FLUX.1 [pro] has no negative prompt: a stray field of that name is one more pair, not the A1111 line
    lines = a1111_parameters(fal_record(negative_prompt="blurry")).splitlines()
    assert not any(line.startswith("Negative prompt:") for line in lines)


def test_the_a1111_words_come_from_the_endpoints_roles_not_the_field_names():
    with registered():
        text = a1111_parameters(odd_record())
        meta = read_metadata(embed_metadata(encode(noise_image(), "PNG"), "image/png", odd_record()))
        onto_pro = meta.to_form_values(FLUX_PRO)
        back = parse_a1111_parameters(a1111_parameters(fal_record())).to_form_values(ODD)
    assert text.splitlines()[0] == "a lighthouse at dusk"
    last = text.splitlines()[-1]
    assert last.startswith("Steps: 12, Sampler: Euler, CFG scale: 6.0, Seed: 42, Size: 640x480, Model: test/odd-names")
    assert "Denoise steps" not in last and "Cfg" not in last and "Noise" not in last and "Canvas" not in last
    assert "Output format: png" not in last  # the endpoint's default
    # a record of one endpoint onto another's form, field by field through the roles
    assert onto_pro.values == {"prompt": "a lighthouse at dusk", "num_inference_steps": 12, "guidance_scale": 6.0,
                               "seed": 42, "image_size": {"width": 640, "height": 480}, "num_images": 1,
                               "output_format": "png"}  # no role: by name
    # and the A1111 words onto the odd names
    assert back.values == {"text": PROMPT, "noise": 1234, "denoise_steps": 28, "cfg": 3.5,
                           "canvas": {"width": 1024, "height": 768}}


def test_segmind_run_uses_its_own_field_names_and_the_result_size():
    body = {"prompt": "a room", "seed": 5, "steps": 20, "guidance": 7.5, "control_image": "https://x.test/c.png",
            "output_format": "jpg", "safety_tolerance": 2, "prompt_upsampling": False}
    record = RunRecord(id="r", endpoint_id="flux-depth-pro", api_name="segmind_flux_depth_pro", provider="segmind",
                       route="sandbox", input=body, state="done",
                       result={"images": [{"url": "u", "width": 512, "height": 384, "content_type": "image/jpeg"}],
                               "seed": 5})
    assert a1111_parameters(record).splitlines()[-1] == (
        'Steps: 20, Sampler: Euler, CFG scale: 7.5, Seed: 5, Size: 512x384, Model: flux-depth-pro, Control image: '
        '"https://x.test/c.png", Prompt upsampling: False, Provider: segmind'
    )


def test_parse_a_realistic_a1111_text():
    meta = parse_a1111_parameters(A1111_TEXT)
    assert meta.kind == "parameters"
    assert meta.prompt == "masterpiece, best quality, (a lighthouse:1.2) at dusk\nwaves, <lora:add_detail:0.5>"
    assert meta.negative_prompt == "lowres, bad anatomy, text, watermark"
    assert (meta.steps, meta.guidance, meta.seed, meta.width, meta.height, meta.strength) == (
        30, 6.5, 3229580734, 832, 1216, 0.55)
    assert meta.model == "sd_xl_base_1.0" and meta.endpoint_id is None
    assert meta.extras["Lora hashes"] == "add_detail: 7c6bad76eb54, more_details: 3b8aa1d351ef"
    assert meta.extras["Hires prompt"] == 'say "hi", twice'
    assert meta.extras["Sampler"] == "DPM++ 2M Karras" and meta.extras["Version"] == "v1.6.0"


def test_parse_our_own_text_names_our_endpoint():
    meta = parse_a1111_parameters(a1111_parameters(fal_record()))
    assert (meta.prompt, meta.seed, meta.steps, meta.guidance, meta.width, meta.height) == (
        PROMPT, 1234, 28, 3.5, 1024, 768)
    assert meta.endpoint_id == "fal-ai/flux-pro" and meta.extras["Request ID"] == "req-42"


def test_text_without_a_parameters_line_is_all_prompt():
    meta = parse_a1111_parameters("just a prompt, nothing: else")
    assert meta.prompt == "just a prompt, nothing: else" and meta.seed is None and meta.extras == {}


# --- embedding and reading back -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_png_round_trip_keeps_pixels_and_restores_the_record(mode):
    original = encode(noise_image(mode), "PNG")
    record = fal_record()
    out = embed_metadata(original, "image/png", record)
    assert decoded(out) == decoded(original)
    assert [c for c in png_chunks(out) if c[0] == b"IDAT"] == [c for c in png_chunks(original) if c[0] == b"IDAT"]
    with Image.open(io.BytesIO(out)) as image:  # before load(): the chunks sit before IDAT, where info sees them
        assert image.info["parameters"] == a1111_parameters(record)
        assert json.loads(image.info["flux_playground"]) == record.to_json()
    meta = read_metadata(out)
    assert meta.kind == "record" and meta.format == "PNG" and meta.record == record
    assert meta.seed == 1234 and meta.prompt == PROMPT and meta.endpoint_id == "fal-ai/flux-pro"
    assert "every parameter can be restored" in meta.summary


def test_png_embedding_twice_replaces_instead_of_adding():
    once = embed_metadata(encode(noise_image(), "PNG"), "image/png", fal_record(seed=1))
    twice = embed_metadata(once, "image/png", fal_record(seed=2))
    texts = [c for c in png_chunks(twice) if c[0] in (b"tEXt", b"iTXt", b"zTXt")]
    assert len(texts) == 2 and read_metadata(twice).record.input["seed"] == 2


def test_jpeg_round_trip_is_not_recompressed():
    original = encode(noise_image(), "JPEG", quality=90)
    record = fal_record()
    out = embed_metadata(original, "image/jpeg", record)
    assert jpeg_scan(out) == jpeg_scan(original) and decoded(out) == decoded(original)
    with Image.open(io.BytesIO(out)) as image:
        comment = image.getexif().get_ifd(0x8769)[0x9286]
        assert comment.startswith(b"UNICODE\0")  # A1111/piexif encoding: UTF-16BE after the prefix
        assert comment[8:].decode("utf-16-be") == a1111_parameters(record)
        assert b"flux_playground" in image.info["xmp"] or b"fluxplayground" in image.info["xmp"]
    meta = read_metadata(out)
    assert meta.kind == "record" and meta.format == "JPEG" and meta.record == record
    assert meta.parameters == a1111_parameters(record)


def test_jpeg_keeps_existing_exif_tags():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation
    exif.endian = "<"
    original = encode(noise_image(), "JPEG", exif=exif.tobytes())
    out = embed_metadata(original, "image/jpeg", fal_record())
    with Image.open(io.BytesIO(out)) as image:
        assert image.getexif()[0x0112] == 6
    assert read_metadata(out).kind == "record"


def test_a_record_at_the_apps_limits_fits_one_xmp_segment():
    """The longest prompt the app takes (twice over: input and request body) and an inline image: one compact
    record, one APP1 segment each for EXIF and XMP, read back whole."""
    big_prompt = "".join(random.Random(3).choice("abcdefghij ,:\"'") for _ in range(PROMPT_MAX_CHARS))
    record = fal_record(prompt=big_prompt, image_url="data:image/png;base64," + "A" * 200_000)
    original = encode(noise_image(), "JPEG")
    out = embed_metadata(original, "image/jpeg", record)
    assert all(size <= 65535 for size in jpeg_app1_sizes(out)) and len(jpeg_app1_sizes(out)) == 2
    assert decoded(out) == decoded(original)
    meta = read_metadata(out)
    assert meta.kind == "record" and meta.record is not None and meta.record.input["prompt"] == big_prompt
    assert meta.record.input["image_url"].endswith("characters omitted: too large to embed>")
    assert any("too large to embed" in note for note in meta.notes)


def test_a_record_too_big_for_one_segment_leaves_the_a1111_text_alone():
    record = replace(fal_record(), result={**fal_record().result, "extras": {"log": "x" * 100_000}})
    original = encode(noise_image(), "JPEG")
    out = embed_metadata(original, "image/jpeg", record)
    assert all(size <= 65535 for size in jpeg_app1_sizes(out)) and len(jpeg_app1_sizes(out)) == 1  # EXIF only
    assert decoded(out) == decoded(original)
    meta = read_metadata(out)
    assert meta.kind == "parameters" and meta.prompt == PROMPT and meta.seed == 1234


@pytest.mark.skipif(not features.check("webp"), reason="this Pillow has no WebP support")
@pytest.mark.parametrize("options", [{"quality": 80}, {"lossless": True}], ids=["lossy", "lossless"])
def test_webp_round_trip_keeps_the_bitstream(options):
    original = encode(noise_image("RGBA" if options.get("lossless") else "RGB"), "WEBP", **options)
    record = fal_record()
    out = embed_metadata(original, "image/webp", record)
    assert decoded(out) == decoded(original)
    with Image.open(io.BytesIO(out)) as image:
        comment = image.getexif().get_ifd(0x8769)[0x9286]
        assert decode_user_comment(comment) == a1111_parameters(record)
        assert image.info.get("xmp")
    meta = read_metadata(out)
    assert meta.kind == "record" and meta.format == "WEBP" and meta.record == record


def test_content_type_is_only_a_hint_and_other_formats_pass_through():
    png = encode(noise_image(), "PNG")
    assert read_metadata(embed_metadata(png, "image/jpeg", fal_record())).kind == "record"
    gif = encode(noise_image().convert("P"), "GIF")
    assert embed_metadata(gif, "image/gif", fal_record()) == gif


def test_record_with_a_key_in_a_header_is_refused():
    record = fal_record()
    for headers in ({"Authorization": f"Key {SECRET}"}, {"x-api-key": SECRET}, {"X-Other": f"Bearer {SECRET}"}):
        leaky = replace(record, request=replace(record.request, headers=headers))
        with pytest.raises(SecretInRecordError) as raised:
            embed_metadata(encode(noise_image(), "PNG"), "image/png", leaky)
        assert SECRET not in str(raised.value)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_no_key_in_anything_written(fmt):
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("this Pillow has no WebP support")
    record = fal_record()
    assert record.request.send_headers()["Authorization"] == f"Key {SECRET}"  # the secret exists, apart
    out = embed_metadata(encode(noise_image(), fmt), f"image/{fmt.lower()}", record)
    meta = read_metadata(out)
    for text in (out.decode("latin-1"), json.dumps(meta.record_json), meta.parameters or "",
                 _inflated_png_text(out) if fmt == "PNG" else ""):
        assert SECRET not in text and "Key fal-" not in text


def _inflated_png_text(data: bytes) -> str:
    out = []
    for ctype, payload in png_chunks(data):
        if ctype == b"iTXt" and payload.split(b"\0", 1)[1][0] == 1:
            out.append(zlib.decompress(payload.split(b"\0", 3)[3].split(b"\0", 1)[1]).decode())
    return "".join(out)


# --- foreign images and garbage ---------------------------------------------------------------------------------


def test_a1111_png_is_read_as_parameters():
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_TEXT)
    meta = read_metadata(encode(noise_image(), "PNG", pnginfo=info))
    assert meta.kind == "parameters" and meta.record is None and meta.seed == 3229580734
    assert meta.summary.startswith("A1111-style parameters")


def test_a1111_jpeg_user_comment_is_read():
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = user_comment(A1111_TEXT)
    meta = read_metadata(encode(noise_image(), "JPEG", exif=exif.tobytes()))
    assert meta.kind == "parameters" and meta.negative_prompt == "lowres, bad anatomy, text, watermark"


@pytest.mark.parametrize(
    ("raw", "big_endian", "text"),
    [
        (b"ASCII\0\0\0plain text", True, "plain text"),
        (b"UNICODE\0" + "ünï 🐯".encode("utf-16-be"), True, "ünï 🐯"),
        (b"UNICODE\0" + "Steps: 20".encode("utf-16-le"), True, "Steps: 20"),  # byte order guessed from the zeros
        (b"UNICODE\0" + "Steps: 20".encode("utf-16-be"), False, "Steps: 20"),
        (b"\0" * 8 + "utf-8 ü".encode(), True, "utf-8 ü"),
        ("already text", True, "already text"),
    ],
)
def test_user_comment_encodings(raw, big_endian, text):
    assert decode_user_comment(raw, big_endian) == text


def test_image_without_metadata_carries_no_parameters():
    for fmt in ("PNG", "JPEG", "GIF"):
        image = noise_image().convert("P") if fmt == "GIF" else noise_image()
        meta = read_metadata(encode(image, fmt))
        assert meta.kind == "none" and meta.format == fmt and meta.summary == NO_PARAMETERS and not meta.found


def test_garbage_never_raises():
    rng = random.Random(7)
    samples = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\0\0\0\0WEBP", b"GIF89a"]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000))) for _ in range(200)]
    for fmt in ("PNG", "JPEG", "WEBP"):
        good = embed_metadata(encode(noise_image(), fmt), "", fal_record())
        samples += [good[:cut] for cut in range(0, len(good), max(1, len(good) // 60))]
        samples += [bytes(b ^ 0x5A if i % 97 == 13 else b for i, b in enumerate(good))]
        head = {"PNG": 8, "JPEG": 2, "WEBP": 12}[fmt]
        samples += [good[:head] + bytes(rng.randrange(256) for _ in range(500)) for _ in range(20)]
    for data in samples:
        meta = read_metadata(data)
        assert meta.kind in ("record", "parameters", "none", "error")
        if meta.kind == "error":
            assert meta.error and meta.summary == meta.error
    assert read_metadata(b"not an image").error == "these bytes are not an image Pillow can read"


def test_corrupt_record_json_falls_back_to_the_a1111_text():
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_TEXT)
    info.add_text("flux_playground", '{"id": "x", "truncated')
    meta = read_metadata(encode(noise_image(), "PNG", pnginfo=info))
    assert meta.kind == "parameters" and meta.seed == 3229580734
    assert any("not valid JSON" in note for note in meta.notes)


# --- onto a form ------------------------------------------------------------------------------------------------


def test_our_record_restores_its_own_endpoint_verbatim():
    record = fal_record()
    meta = read_metadata(embed_metadata(encode(noise_image(), "PNG"), "image/png", record))
    form = meta.to_form_values(FLUX_PRO)
    assert form.values == record.input and form.dropped == {}


def test_our_record_onto_another_endpoint_maps_names_and_lists_what_is_dropped():
    meta = read_metadata(embed_metadata(encode(noise_image(), "PNG"), "image/png", fal_record()))
    form = meta.to_form_values(SEGMIND)
    assert form.values == {"prompt": PROMPT, "steps": 28, "seed": 1234, "guidance": 3.5, "safety_tolerance": 5}
    assert set(form.dropped) == {"image_size", "num_images", "output_format"}
    assert "no size field" in form.dropped["image_size"] and "'jpeg'" in form.dropped["output_format"]


def test_a1111_fields_onto_flux_pro_and_segmind():
    meta = parse_a1111_parameters(A1111_TEXT.replace("Seed: 3229580734", "Seed: 42"))
    pro = meta.to_form_values(FLUX_PRO)
    assert pro.values == {"prompt": meta.prompt, "seed": 42, "num_inference_steps": 30, "guidance_scale": 6.5,
                          "image_size": {"width": 832, "height": 1216}}
    assert {"Negative prompt", "Denoising strength", "Sampler", "Lora hashes"} <= set(pro.dropped)
    assert "Model" not in pro.dropped and "Version" not in pro.dropped  # informational, not form values
    segmind = meta.to_form_values(SEGMIND)
    assert segmind.values == {"prompt": meta.prompt, "seed": 42, "steps": 30, "guidance": 6.5}
    assert "no size field" in segmind.dropped["Size"]


def test_values_that_do_not_fit_are_dropped_with_the_reason():
    meta = parse_a1111_parameters("p\nSteps: 80, CFG scale: 3, Seed: 1, Safety tolerance: 9")
    form = meta.to_form_values(FLUX_PRO)
    assert "num_inference_steps" not in form.values and "50" in form.dropped["Steps"]
    assert form.values["guidance_scale"] == 3 and "Safety tolerance" in form.dropped


# --- file names -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (("flux_pro", 1234, 1, "image/png"), "flux_pro-1234-1.png"),
        (("flux_pro", None, 2, "image/jpeg"), "flux_pro-noseed-2.jpg"),
        (("flux_pro_kontext", "sweep", 1, "image/png"), "flux_pro_kontext-sweep-1.png"),  # a sweep's grid
        (("segmind_flux_depth_pro", 0, 3, "image/webp; charset=binary"), "segmind_flux_depth_pro-0-3.webp"),
        (("../odd name", 5, 1, "application/x-unknown"), "odd_name-5-1.bin"),
    ],
)
def test_download_name(args, name):
    assert download_name(*args) == name


def test_download_name_counts_from_one():
    with pytest.raises(ValueError, match="counts from 1"):
        download_name("flux_pro", 1, 0, "image/png")


def test_a_stray_nan_in_provider_timings_does_not_stop_embedding():
    record = fal_record()
    record = record.with_result({**record.result, "timings": {"inference": float("nan")}})
    meta = read_metadata(embed_metadata(encode(noise_image(), "PNG"), "image/png", record))
    assert meta.kind == "record" and math.isnan(meta.record.result["timings"]["inference"])


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_third_party_a1111_reader_reads_our_parameters(fmt):
    """sd-parsers (what many galleries use) takes a text for A1111's only when it names a sampler."""
    sd_parsers = pytest.importorskip("sd_parsers")
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow without WebP")
    with registered():  # an endpoint with a negative prompt role (FLUX.1 [pro] has none)
        data = embed_metadata(encode(noise_image(), fmt), "", odd_record(avoid="blurry, text"))
    with Image.open(io.BytesIO(data)) as image:
        info = sd_parsers.ParserManager().parse(image)
    assert info is not None, "sd-parsers did not recognise the parameters"
    assert info.generator == sd_parsers.data.Generators.AUTOMATIC1111
    sampler = info.samplers[0]
    assert [p.value for p in sampler.prompts] == ["a lighthouse at dusk"]
    assert [p.value for p in sampler.negative_prompts] == ["blurry, text"]
    assert sampler.parameters["seed"] == "42" and sampler.parameters["steps"] == "12"
    assert sampler.parameters["cfg_scale"] == "6.0"
    assert sampler.model is not None and sampler.model.name == "test/odd-names"
    assert info.metadata["Size"] == "640x480"


def test_reading_a_png_inflates_no_chunk_it_does_not_read(monkeypatch):
    """A probe's 25 MB upload held 380 compressed text chunks, each inflating to 64 MB, and "Open image" inflated
    every one before looking at its keyword (96 s of a core). Only the two keywords read are inflated, each once."""
    from runs.provenance import png as png_module

    bomb = zlib.compress(b"\0" * (4 * 1024 * 1024), 9)
    others = b"".join(struct.pack(">I", len(payload)) + b"zTXt" + payload
                      + struct.pack(">I", zlib.crc32(b"zTXt" + payload))
                      for payload in (b"Comment%d\0\0" % i + bomb for i in range(40)))
    out = embed_metadata(encode(noise_image(), "PNG"), "image/png", fal_record())
    at = out.index(b"IDAT") - 4
    crafted = out[:at] + others + out[at:] + b""  # the bombs after our chunks, before the image data
    inflated: list[int] = []
    real = png_module._inflate
    monkeypatch.setattr(png_module, "_inflate", lambda data: inflated.append(len(data)) or real(data))
    meta = read_metadata(crafted)
    assert meta.kind == "record" and meta.record == fal_record()
    assert len(inflated) <= 1, inflated  # our record chunk (if compressed); none of the 40 others
    first = out[:at]
    crafted = first[:8] + others + first[8:] + out[at:]  # the bombs first: still none inflated
    inflated.clear()
    assert read_metadata(crafted).kind == "record" and len(inflated) <= 1
    # Bombs under the very names read (a review's bypass): each name is tried once, read or not.
    named = b"".join(struct.pack(">I", len(payload)) + b"zTXt" + payload
                     + struct.pack(">I", zlib.crc32(b"zTXt" + payload))
                     for payload in (key + b"\0\0" + zlib.compress(b"\0" * (16 * 1024 * 1024), 9)
                                     for key in (b"parameters", b"flux_playground") * 20))
    inflated.clear()
    read_metadata(first[:8] + named + first[8:] + out[at:])
    assert len(inflated) == 2, inflated
