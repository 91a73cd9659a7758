"""A corpus of corrupt recordings and saved policies, each made by one named mutation of a good one.

``RECORDING_CASES`` mutate ``root/ep`` (written by ``tests.conftest.write_episode``, 3 clicks and a
typed word: 4 frames, 4 events, 1 intent); ``POLICY_CASES`` mutate a tiny saved ``ACTPolicy``.
Each case says how it must end: an error naming ``file`` (and ``line``, ``field`` where set), or a
documented acceptance (``file`` None) counted under ``accepted`` in the validation report.
``schema`` marks the cases whose rule the shipped JSON Schema can express: there the schema and the
reader must agree.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EP = "ep"
# Raw events that merge into a click (frame 0) and the key "a" (frame 1).
RAW = [
    {"t": 0.5, "type": "mouse_down", "x": 10, "y": 20, "button": "left"},
    {"t": 0.6, "type": "mouse_up", "x": 10, "y": 20, "button": "left"},
    {"t": 1.5, "type": "key_down", "key": "a"},
    {"t": 1.6, "type": "key_up", "key": "a"},
]


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Path], None]  # gets the root holding ``ep``
    file: str | None  # the file the error names (a suffix); None: a documented acceptance
    line: int | None = None
    field: str | None = None
    schema: bool = False  # the JSON Schema can express the rule: it must agree with the reader
    accepted: str | None = None  # for acceptances: the kind counted in the validation report
    target: str = "."  # what the entry points get, relative to the root

    def __str__(self) -> str:
        return self.name


# ------------------------------------------------------------------------------- edit helpers


def _lines(root: Path, file: str) -> list[bytes]:
    return (root / EP / file).read_bytes().splitlines()


def _write_lines(root: Path, file: str, lines: list[bytes]) -> None:
    (root / EP / file).write_bytes(b"\n".join(lines) + b"\n")


def set_line(file: str, line: int, raw: bytes | str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        lines = _lines(root, file)
        lines[line - 1] = raw.encode() if isinstance(raw, str) else raw
        _write_lines(root, file, lines)

    return mutate


def edit_row(file: str, line: int, **changes) -> Callable[[Path], None]:
    """Set (or, with the value ``DROP``, remove) fields of one JSON line."""

    def mutate(root: Path) -> None:
        lines = _lines(root, file)
        row = json.loads(lines[line - 1])
        for k, v in changes.items():
            if v is DROP:
                row.pop(k, None)
            else:
                row[k] = v
        lines[line - 1] = json.dumps(row).encode()
        _write_lines(root, file, lines)

    return mutate


def replace_in_line(file: str, line: int, old: str, new: bytes | str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        lines = _lines(root, file)
        assert old.encode() in lines[line - 1], (old, lines[line - 1])
        lines[line - 1] = lines[line - 1].replace(old.encode(), new.encode() if isinstance(new, str) else new)
        _write_lines(root, file, lines)

    return mutate


DROP = object()


def edit_meta(**changes) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        meta = json.loads((root / EP / "meta.json").read_text())
        for k, v in changes.items():
            target, key = (
                (meta["screen"], k.removeprefix("screen_")) if k.startswith("screen_") else (meta, k)
            )
            if v is DROP:
                target.pop(key, None)
            else:
                target[key] = v
        (root / EP / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    return mutate


def write_file(file: str, data: bytes) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / EP / file).write_bytes(data)

    return mutate


def delete(file: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / EP / file).unlink()

    return mutate


def raw_events(rows: list[dict]) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / EP / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    return mutate


def both(*mutations: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        for m in mutations:
            m(root)

    return mutate


def append(file: str, data: bytes) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        with open(root / EP / file, "ab") as f:
            f.write(data)

    return mutate


def symlink_outside(file: str) -> Callable[[Path], None]:
    """Replace ``file`` by a link to an identical copy outside the episode."""

    def mutate(root: Path) -> None:
        outside = root.parent / f"outside-{Path(file).name}"
        shutil.copy(root / EP / file, outside)
        (root / EP / file).unlink()
        (root / EP / file).symlink_to(outside)

    return mutate


def symlink_inside(root: Path) -> None:
    (root / EP / "frames" / "000001.png").unlink()
    (root / EP / "frames" / "000001.png").symlink_to("000000.png")


def episode_behind_symlink(root: Path) -> None:
    outside = root.parent / "elsewhere"
    shutil.move(str(root / EP), outside)
    (root / EP).symlink_to(outside, target_is_directory=True)


def duplicate_episode(root: Path) -> None:
    shutil.copytree(root / EP, root / "ep2")


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    from PIL import Image

    im = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _frame_bytes(root: Path, index: int = 1) -> bytes:
    return (root / EP / "frames" / f"{index:06d}.png").read_bytes()


def png_truncated(root: Path) -> None:
    data = _frame_bytes(root)
    write_file("frames/000001.png", data[: len(data) // 2])(root)


def png_bitflip(root: Path) -> None:
    data = bytearray(_frame_bytes(root))
    data[len(data) // 2] ^= 0xFF
    write_file("frames/000001.png", bytes(data))(root)


def png_wrong_size(root: Path) -> None:
    write_file("frames/000001.png", _png(np.zeros((60, 80, 3), np.uint8)))(root)


def png_16bit(root: Path) -> None:
    write_file("frames/000001.png", _png(np.zeros((120, 160), np.uint16) + 1000))(root)


def png_jpeg(root: Path) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((120, 160, 3), np.uint8)).save(buf, "JPEG")
    write_file("frames/000001.png", buf.getvalue())(root)


def png_directory(root: Path) -> None:
    (root / EP / "frames" / "000001.png").unlink()
    (root / EP / "frames" / "000001.png").mkdir()


def physical_frames(root: Path) -> None:
    """A HiDPI recording: screen 160x120 logical at scale 2, frames 320x240."""
    edit_meta(screen_scale=2.0)(root)
    for p in sorted((root / EP / "frames").iterdir()):
        p.write_bytes(_png(np.zeros((240, 320, 3), np.uint8)))


def big_int(digits: int) -> str:
    return "1" + "0" * (digits - 1)


DEEP = "[" * 100_000 + "]" * 100_000


def _first_frame_late(root: Path) -> None:
    edit_row("frames.jsonl", 1, t=0.9)(root)


RECORDING_CASES: list[Case] = [
    # meta.json
    Case("meta_invalid_json", write_file("meta.json", b'{"format_version": 1,'), "meta.json", schema=True),
    Case("meta_not_object", write_file("meta.json", b"[1, 2]"), "meta.json", schema=True),
    Case("meta_missing", delete("meta.json"), "meta.json", target=EP),
    Case("meta_wrong_version", edit_meta(format_version=2), "meta.json", field="format_version", schema=True),
    Case(
        "meta_version_true", edit_meta(format_version=True), "meta.json", field="format_version", schema=True
    ),
    Case("meta_missing_task", edit_meta(task=DROP), "meta.json", field="task", schema=True),
    Case("meta_unknown_source", edit_meta(source="web"), "meta.json", field="source", schema=True),
    Case("meta_width_zero", edit_meta(screen_width=0), "meta.json", field="screen.width", schema=True),
    Case(
        "meta_width_fraction", edit_meta(screen_width=160.5), "meta.json", field="screen.width", schema=True
    ),
    Case("meta_scale_negative", edit_meta(screen_scale=-1), "meta.json", field="screen.scale", schema=True),
    Case("meta_width_huge_int", edit_meta(screen_width=10**400), "meta.json", field="screen.width"),
    Case("meta_scale_huge_int", edit_meta(screen_scale=10**400), "meta.json", field="screen.scale"),
    Case(
        "meta_event_coords_bad",
        edit_meta(screen_event_coords="pixels"),
        "meta.json",
        field="screen.event_coords",
        schema=True,
    ),
    Case("meta_success_string", edit_meta(success="yes"), "meta.json", field="success", schema=True),
    Case("meta_success_int", edit_meta(success=1), "meta.json", field="success", schema=True),
    Case("meta_unknown_field", edit_meta(operator="bob"), "meta.json", field="operator", schema=True),
    Case("meta_screen_unknown_field", edit_meta(screen_dpi=96), "meta.json", field="screen.dpi", schema=True),
    Case("meta_extra_not_object", edit_meta(extra=[]), "meta.json", field="extra", schema=True),
    Case("meta_complete_string", edit_meta(complete="yes"), "meta.json", field="complete", schema=True),
    Case(
        "meta_non_utf8",
        lambda root: write_file(
            "meta.json", (root / EP / "meta.json").read_bytes().replace(b"Click", b"Cl\xffck")
        )(root),
        "meta.json",
        schema=True,
    ),
    Case(
        "meta_deep_nesting",
        lambda root: write_file(
            "meta.json",
            (root / EP / "meta.json").read_bytes().replace(b'"extra": {}', b'"extra": ' + DEEP.encode()),
        )(root),
        "meta.json",
        schema=True,
    ),
    Case("meta_symlink_outside", symlink_outside("meta.json"), "meta.json"),
    # frames.jsonl
    Case("frames_unknown_field", edit_row("frames.jsonl", 2, dt=1), "frames.jsonl", 2, "dt", schema=True),
    Case("frames_index_gap", edit_row("frames.jsonl", 2, index=5), "frames.jsonl", 2, "index"),
    Case(
        "frames_index_negative",
        edit_row("frames.jsonl", 2, index=-1),
        "frames.jsonl",
        2,
        "index",
        schema=True,
    ),
    Case(
        "frames_index_missing",
        edit_row("frames.jsonl", 2, index=DROP),
        "frames.jsonl",
        2,
        "index",
        schema=True,
    ),
    Case("frames_t_string", edit_row("frames.jsonl", 2, t="1"), "frames.jsonl", 2, "t", schema=True),
    Case("frames_t_nan", set_line("frames.jsonl", 2, '{"index": 1, "t": NaN}'), "frames.jsonl", 2, "t"),
    Case("frames_t_huge_int", edit_row("frames.jsonl", 2, t=10**400), "frames.jsonl", 2, "t"),
    Case("frames_missing", delete("frames.jsonl"), "frames.jsonl"),
    Case(
        "frames_non_utf8",
        set_line("frames.jsonl", 2, b'{"index": 1, "t": 1.0, "\xff": 1}'),
        "frames.jsonl",
        2,
        schema=True,
    ),
    Case("frames_empty_line", set_line("frames.jsonl", 2, b""), "frames.jsonl", 2),
    Case("frames_empty", write_file("frames.jsonl", b""), "frames.jsonl"),
    # events.jsonl
    Case(
        "events_non_utf8",
        replace_in_line("events.jsonl", 1, "press ok", b"press \xff ok"),
        "events.jsonl",
        1,
        schema=True,
    ),
    Case(
        "events_invalid_json",
        set_line("events.jsonl", 2, '{"t": 1.5, "type": "cl'),
        "events.jsonl",
        2,
        schema=True,
    ),
    Case("events_not_object", set_line("events.jsonl", 2, "[1.5, 2]"), "events.jsonl", 2, schema=True),
    Case(
        "events_unknown_field",
        edit_row("events.jsonl", 1, pressure=1),
        "events.jsonl",
        1,
        "pressure",
        schema=True,
    ),
    Case(
        "events_unknown_type",
        edit_row("events.jsonl", 2, type="clack"),
        "events.jsonl",
        2,
        "type",
        schema=True,
    ),
    Case("events_missing_t", edit_row("events.jsonl", 2, t=DROP), "events.jsonl", 2, "t", schema=True),
    Case("events_x_string", edit_row("events.jsonl", 1, x="ten"), "events.jsonl", 1, "x", schema=True),
    Case("events_x_bool", edit_row("events.jsonl", 1, x=True), "events.jsonl", 1, "x", schema=True),
    Case(
        "events_x_1e400",
        replace_in_line("events.jsonl", 1, '"x": 10.0', '"x": 1e400'),
        "events.jsonl",
        1,
        "x",
    ),
    Case("events_x_huge_int", edit_row("events.jsonl", 1, x=10**400), "events.jsonl", 1, "x"),
    Case(
        "events_x_5000_digits",
        replace_in_line("events.jsonl", 1, '"x": 10.0', f'"x": {big_int(5000)}'),
        "events.jsonl",
        1,
    ),
    Case("events_t_nan", replace_in_line("events.jsonl", 1, '"t": 0.5', '"t": NaN'), "events.jsonl", 1, "t"),
    Case(
        "events_deep_nesting",
        replace_in_line("events.jsonl", 1, '"x": 10.0', f'"x": {DEEP}'),
        "events.jsonl",
        1,
    ),
    Case("events_out_of_order", edit_row("events.jsonl", 3, t=0.1), "events.jsonl", 3, "t"),
    Case(
        "events_missing_button",
        raw_events([{k: v for k, v in RAW[0].items() if k != "button"}, *RAW[1:]]),
        "events.jsonl",
        1,
        "button",
        schema=True,
    ),
    Case(
        "events_empty_key",
        raw_events([*RAW[:2], {**RAW[2], "key": ""}, RAW[3]]),
        "events.jsonl",
        3,
        "key",
        schema=True,
    ),
    Case(
        "events_key_names_nothing",
        raw_events([*RAW[:2], {**RAW[2], "key": "Key."}, RAW[3]]),
        "events.jsonl",
        3,
        "key",
    ),
    Case(
        "events_empty_button",
        raw_events([{**RAW[0], "button": ""}, *RAW[1:]]),
        "events.jsonl",
        1,
        "button",
        schema=True,
    ),
    Case("events_empty_text", edit_row("events.jsonl", 4, text=""), "events.jsonl", 4, "text", schema=True),
    Case(
        "events_bad_path",
        set_line(
            "events.jsonl", 1, '{"t": 0.5, "type": "drag", "x": 1, "y": 1, "x2": 50, "y2": 50, "path": [[1]]}'
        ),
        "events.jsonl",
        1,
        "path",
        schema=True,
    ),
    Case(
        "events_path_huge_int",
        edit_row("events.jsonl", 1, type="drag", x2=50, y2=50, path=[[10**400, 1]]),
        "events.jsonl",
        1,
        "path",
    ),
    Case(
        "events_bad_target",
        edit_row("events.jsonl", 1, target=[1, 2, 3]),
        "events.jsonl",
        1,
        "target",
        schema=True,
    ),
    Case(
        "events_dx_infinity",
        edit_row("events.jsonl", 1, type="scroll", dx=float("inf")),
        "events.jsonl",
        1,
        "dx",
    ),
    Case("events_unreleased_press", raw_events([RAW[0], *RAW[2:]]), "events.jsonl", 1, "button"),
    Case(
        "events_pressed_twice",
        raw_events([RAW[0], {**RAW[1], "type": "mouse_down"}, *RAW[2:]]),
        "events.jsonl",
        2,
        "button",
    ),
    Case("events_torn_tail_complete", append("events.jsonl", b'{"t": 9.0, "ty'), "events.jsonl", 5),
    Case("events_before_first_frame", _first_frame_late, "events.jsonl", field="t"),
    Case("events_missing", delete("events.jsonl"), "events.jsonl"),
    Case("events_empty_line", set_line("events.jsonl", 2, b""), "events.jsonl", 2),
    Case("events_symlink_outside", symlink_outside("events.jsonl"), "events.jsonl"),
    # intents.jsonl
    Case(
        "intents_unknown_field",
        edit_row("intents.jsonl", 1, color="red"),
        "intents.jsonl",
        1,
        "color",
        schema=True,
    ),
    Case("intents_t1_before_t0", edit_row("intents.jsonl", 1, t0=5.0, t1=1.0), "intents.jsonl", 1, "t1"),
    Case(
        "intents_label_missing",
        edit_row("intents.jsonl", 1, label=DROP),
        "intents.jsonl",
        1,
        "label",
        schema=True,
    ),
    Case("intents_invalid_json", set_line("intents.jsonl", 1, "{"), "intents.jsonl", 1, schema=True),
    Case("intents_t0_huge_int", edit_row("intents.jsonl", 1, t0=10**400), "intents.jsonl", 1, "t0"),
    # frames/*.png
    Case("png_zero_bytes", write_file("frames/000001.png", b""), "frames/000001.png"),
    Case("png_garbage", write_file("frames/000001.png", b"not a png at all" * 8), "frames/000001.png"),
    Case("png_truncated", png_truncated, "frames/000001.png"),
    Case("png_bitflip", png_bitflip, "frames/000001.png"),
    Case("png_wrong_size", png_wrong_size, "frames/000001.png"),
    Case("png_16bit", png_16bit, "frames/000001.png"),
    Case("png_is_jpeg", png_jpeg, "frames/000001.png"),
    Case("png_is_directory", png_directory, "frames/000001.png"),
    Case("png_symlink_outside", symlink_outside("frames/000001.png"), "frames/000001.png"),
    # several episodes
    Case("duplicate_episode_id", duplicate_episode, "ep2/meta.json", field="episode_id"),
    # documented acceptances; the schema accepts each too (a torn line is no JSON: only the reader
    # knows the episode was cut off)
    Case(
        "accepted_release_without_press",
        raw_events(RAW[1:]),
        None,
        schema=True,
        accepted="release_without_press",
    ),
    Case(
        "accepted_unreleased_press_incomplete",
        both(raw_events([RAW[0], *RAW[2:]]), edit_meta(complete=False)),
        None,
        schema=True,
        accepted="unreleased_press",
    ),
    Case(
        "accepted_torn_tail_incomplete",
        both(append("events.jsonl", b'{"t": 9.0, "ty'), edit_meta(complete=False)),
        None,
        accepted="torn_last_line",
    ),
    Case(
        "accepted_point_outside_screen",
        edit_row("events.jsonl", 1, x=500.0),
        None,
        schema=True,
        accepted="clamped_point",
    ),
    Case("accepted_frame_symlink_inside", symlink_inside, None, schema=True),
    Case("accepted_episode_behind_symlink", episode_behind_symlink, None, schema=True),
    Case("accepted_physical_size_frames", physical_frames, None, schema=True),
]


# ------------------------------------------------------------------------------------ policies


@dataclass(frozen=True)
class PolicyCase:
    name: str
    mutate: Callable[[Path], None]  # gets the saved policy directory
    file: str  # config.json or model.safetensors: the error names it
    field: str | None = None  # named in the message too, where set

    def __str__(self) -> str:
        return self.name


def _config(d: Path) -> dict:
    return json.loads((d / "config.json").read_text())


def set_config(**changes) -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        (d / "config.json").write_text(json.dumps({**_config(d), **changes}))

    return mutate


def config_bytes(data: bytes) -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        (d / "config.json").write_bytes(data)

    return mutate


def _weights(edit: Callable[[dict], dict]) -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        from safetensors.torch import load_file, save_file

        state = load_file(str(d / "model.safetensors"))
        save_file(edit(state), str(d / "model.safetensors"), metadata={"format": "pt"})

    return mutate


def _drop_buffer(state: dict) -> dict:
    """Without a BatchNorm's num_batches_tracked (which strict torch loading forgives)."""
    name = next(k for k in state if k.endswith("num_batches_tracked"))
    return {k: v for k, v in state.items() if k != name}


def _drop_weight(state: dict) -> dict:
    name = next(k for k in state if k.endswith(".weight"))
    return {k: v for k, v in state.items() if k != name}


def _add_one(state: dict) -> dict:
    import torch

    return {**state, "unexpected.weight": torch.zeros(2)}


def _float64(state: dict) -> dict:
    return {k: v.double() if v.is_floating_point() else v for k, v in state.items()}


def _pickle(d: Path) -> None:
    import torch

    torch.save({"w": torch.zeros(2)}, d / "model.safetensors")


def _weights_bytes(edit: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        p = d / "model.safetensors"
        p.write_bytes(edit(p.read_bytes()))

    return mutate


def _bad_header_length(data: bytes) -> bytes:
    return struct.pack("<Q", len(data) * 4) + data[8:]


def _config_dir(d: Path) -> None:
    (d / "config.json").unlink()
    (d / "config.json").mkdir()


POLICY_CASES: list[PolicyCase] = [
    PolicyCase("config_invalid_json", config_bytes(b'{"chunk_size": 4,'), "config.json"),
    PolicyCase("config_not_object", config_bytes(b"[4]"), "config.json"),
    PolicyCase("config_non_utf8", config_bytes(b'{"backbone": "conv\xffnet"}'), "config.json"),
    PolicyCase("config_deep_nesting", config_bytes(DEEP.encode()), "config.json"),
    PolicyCase(
        "config_5000_digit_int", config_bytes(f'{{"chunk_size": {big_int(5000)}}}'.encode()), "config.json"
    ),
    PolicyCase("config_missing", lambda d: (d / "config.json").unlink(), "config.json"),
    PolicyCase("config_is_directory", _config_dir, "config.json"),
    PolicyCase("config_wrong_type", set_config(chunk_size="ten"), "config.json", "chunk_size"),
    PolicyCase("config_float_for_int", set_config(chunk_size=2.5), "config.json", "chunk_size"),
    PolicyCase("config_bool_for_int", set_config(chunk_size=True), "config.json", "chunk_size"),
    PolicyCase("config_null_for_int", set_config(dim_model=None), "config.json", "dim_model"),
    PolicyCase("config_image_size_int", set_config(image_size=5), "config.json", "image_size"),
    PolicyCase("config_image_size_three", set_config(image_size=[1, 2, 3]), "config.json", "image_size"),
    PolicyCase(
        "config_vocab_string", set_config(instruction_vocab="abc"), "config.json", "instruction_vocab"
    ),
    PolicyCase("config_action_space_list", set_config(action_space=[]), "config.json", "action_space"),
    PolicyCase(
        "config_action_space_no_keys", set_config(action_space={"kinds": []}), "config.json", "action_space"
    ),
    PolicyCase("config_string_for_bool", set_config(use_vae="yes"), "config.json", "use_vae"),
    PolicyCase("config_unknown_key", set_config(kl_wieght=1.0), "config.json", "kl_wieght"),
    PolicyCase("config_bad_value", set_config(backbone="vit"), "config.json", "backbone"),
    PolicyCase("config_nan_dropout", config_bytes(b'{"dropout": NaN}'), "config.json", "dropout"),
    PolicyCase("config_other_model_size", set_config(dim_model=64), "model.safetensors"),
    PolicyCase("weights_missing", lambda d: (d / "model.safetensors").unlink(), "model.safetensors"),
    PolicyCase("weights_pickle", _pickle, "model.safetensors"),
    PolicyCase("weights_zero_bytes", _weights_bytes(lambda b: b""), "model.safetensors"),
    PolicyCase("weights_garbage", _weights_bytes(lambda b: b"garbage!" * 64), "model.safetensors"),
    PolicyCase("weights_truncated", _weights_bytes(lambda b: b[: len(b) // 2]), "model.safetensors"),
    PolicyCase("weights_bad_header_length", _weights_bytes(_bad_header_length), "model.safetensors"),
    PolicyCase("weights_missing_tensor", _weights(_drop_weight), "model.safetensors"),
    PolicyCase("weights_missing_buffer", _weights(_drop_buffer), "model.safetensors"),
    PolicyCase("weights_extra_tensor", _weights(_add_one), "model.safetensors"),
    PolicyCase("weights_float64", _weights(_float64), "model.safetensors"),
]
