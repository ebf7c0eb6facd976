"""A pre-load scan of an ONNX file in protobuf wire format (needs neither onnx nor onnxruntime).

It walks the model, its graphs, nodes, attributes and sub-graphs (If/Loop bodies, local
functions) with bounded depth and field count, and collects what :mod:`engine.models.classifier`
vets before ONNX Runtime sees the file: the ``metadata_props``, every external-data
reference, and every operator (domain, op type) in every graph.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import ModelLoadError

MAX_PROTO_FIELDS = 2_000_000  # a bound on the pre-load scan of the model file
MAX_PROTO_DEPTH = 32  # nested subgraphs (If/Loop bodies) deeper than this are refused

# Field numbers from onnx.proto: which fields hold which sub-messages.
_TENSOR, _SPARSE, _ENTRY, _NODE = "tensor", "sparse", "entry", "node"
_SCHEMA: dict[str, dict[int, str]] = {
    "model": {7: "graph", 14: _ENTRY, 25: "function"},
    "graph": {1: _NODE, 5: _TENSOR, 15: _SPARSE},
    "function": {7: _NODE},
    _NODE: {5: "attribute"},
    "attribute": {5: _TENSOR, 6: "graph", 10: _TENSOR, 11: "graph", 22: _SPARSE, 23: _SPARSE},
    _SPARSE: {1: _TENSOR, 2: _TENSOR},
    _TENSOR: {13: _ENTRY},
    _ENTRY: {},
}
_STRINGS = {_ENTRY: {1: "key", 2: "value"}, _NODE: {4: "op_type", 7: "domain"}}


@dataclass
class Scan:
    metadata: dict[str, str] = field(default_factory=dict)
    external: list[dict[str, str]] = field(default_factory=list)
    ops: set[tuple[str, str]] = field(default_factory=set)  # (domain, op_type)
    n_fields: int = 0


def scan_model(data, size: int) -> Scan:
    """Scan ``data`` (bytes or an mmap of ``size`` bytes); raise ModelLoadError on malformed input."""
    scan = Scan()
    _scan_message(data, 0, size, "model", scan, 0)
    return scan


def _scan_message(data, pos: int, end: int, kind: str, scan: Scan, depth: int) -> dict[str, str]:
    """Walk one message; collect metadata, external data and operators; return its strings."""
    if depth > MAX_PROTO_DEPTH:
        raise ModelLoadError(f"sub-graphs nested deeper than {MAX_PROTO_DEPTH}")
    children, strings, entry, external = _SCHEMA[kind], _STRINGS.get(kind, {}), {}, []
    while pos < end:
        scan.n_fields += 1
        if scan.n_fields > MAX_PROTO_FIELDS:
            raise ModelLoadError(f"more than {MAX_PROTO_FIELDS} protobuf fields")
        key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ModelLoadError("field number 0 (not protobuf)")
        if wire == 0:
            value, pos = _varint(data, pos, end)
            if kind == _TENSOR and number == 14 and value == 1:  # data_location = EXTERNAL
                external.append({})
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            length, pos = _varint(data, pos, end)
            if pos + length > end:
                raise ModelLoadError("truncated: a field runs past the end of its message")
            if number in children:
                child = _scan_message(data, pos, pos + length, children[number], scan, depth + 1)
                if kind == _TENSOR:
                    external.append(child)
                elif kind == "model" and "key" in child:  # a metadata_props entry (model field 14)
                    scan.metadata.setdefault(child["key"], child.get("value", ""))
            elif number in strings:
                entry[strings[number]] = bytes(data[pos : pos + length]).decode("utf-8", "replace")
            pos += length
        else:
            raise ModelLoadError(f"unsupported protobuf wire type {wire}")
        if pos > end:
            raise ModelLoadError("truncated: a value runs past the end of its message")
    if kind == _TENSOR and external:
        scan.external.append({e["key"]: e.get("value", "") for e in external if "key" in e})
    if kind == _NODE:
        scan.ops.add((entry.get("domain", ""), entry.get("op_type", "")))
    return entry


def _varint(data, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ModelLoadError("truncated or malformed varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def check_external_data(path: Path, entries: list[dict[str, str]], size: int, max_bytes: int) -> None:
    """Refuse external data outside the model's folder, missing, short, or past ``max_bytes``."""
    folder = path.resolve().parent
    total = size
    for entry in entries:
        location = entry.get("location", "")
        if not location or "\0" in location:
            raise ModelLoadError(f"{path}: an initializer is stored externally without a file location")
        if os.path.isabs(location) or location.startswith(("/", "\\")) or ":" in location:
            raise ModelLoadError(
                f"{path}: external data location {location!r} is an absolute path; Earmark only reads "
                "data files inside the model's folder"
            )
        target = (folder / location).resolve()
        if target != folder and folder not in target.parents:
            raise ModelLoadError(
                f"{path}: external data location {location!r} points outside the model's folder; refused"
            )
        if not target.is_file():
            raise ModelLoadError(f"{path}: external data file {location!r} is missing or not a regular file")
        try:
            offset, length = int(entry.get("offset") or 0), int(entry.get("length") or 0)
        except ValueError as exc:
            raise ModelLoadError(f"{path}: external data offset/length for {location!r} are not integers") from exc
        if offset < 0 or length < 0 or offset + length > target.stat().st_size:
            raise ModelLoadError(f"{path}: external data for {location!r} lies outside that file")
        total += length or target.stat().st_size
        if total > max_bytes:
            raise ModelLoadError(f"{path}: the model and its data exceed the {max_bytes >> 20} MiB limit")


def float_initializer(path: str | os.PathLike, name: str) -> np.ndarray | None:
    """The values of the main graph's float32 initializer ``name`` (raw or float data), flat;
    None when there is none. ValueError or ModelLoadError on a malformed file."""
    import mmap

    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for graph in _fields(data, 0, len(data), 7):               # ModelProto.graph
            for tensor in _fields(data, *graph, 5):                # GraphProto.initializer
                found = _float_tensor(data, *tensor, name)
                if found is not None:
                    return found
    return None


def _fields(data, pos: int, end: int, number: int):
    """``(start, end)`` of each length-delimited field ``number`` of one message."""
    while pos < end:
        key, pos = _varint(data, pos, end)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(data, pos, end)
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            length, pos = _varint(data, pos, end)
            if key >> 3 == number:
                yield pos, min(pos + length, end)
            pos += length
        else:
            raise ModelLoadError(f"unsupported protobuf wire type {wire}")


def _float_tensor(data, pos: int, end: int, name: str):
    """A TensorProto's values when it is called ``name`` and holds float32, else None."""
    found, raw, floats, dtype = None, b"", [], 1
    while pos < end:
        key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos, end)
            dtype = value if number == 2 else dtype
        elif wire in (1, 5):
            if number == 4 and wire == 5:
                floats.append(np.frombuffer(bytes(data[pos : pos + 4]), "<f4"))
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            length, pos = _varint(data, pos, end)
            chunk = bytes(data[pos : min(pos + length, end)])
            if number == 8:
                found = chunk.decode("utf-8", "replace")
            elif number == 9:
                raw = chunk
            elif number == 4:
                floats.append(np.frombuffer(chunk[: len(chunk) // 4 * 4], "<f4"))
            pos += length
        else:
            raise ModelLoadError(f"unsupported protobuf wire type {wire}")
    if found != name or dtype != 1:
        return None
    if raw:
        return np.frombuffer(raw[: len(raw) // 4 * 4], "<f4").astype(np.float32)
    return np.concatenate(floats).astype(np.float32) if floats else None
