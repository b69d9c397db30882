"""The body reader: gzip and both deflate forms decoded in any chunking, cut one byte past the cap."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from jiguang_growth._body import BodyReader

BODY = b'{"code":0,"msg":"ok","data":{"accepted":1}}' * 40
ENCODED = {
    "identity": BODY,
    "gzip": gzip.compress(BODY),
    "x-gzip": gzip.compress(BODY),
    "deflate": zlib.compress(BODY),  # zlib-wrapped, as RFC 9110 defines deflate
    "raw-deflate": zlib.compress(BODY)[2:-4],  # what some servers send as deflate
}


def read(encoding: str, raw: bytes, limit: int, chunk: int) -> tuple[bytes, str | None]:
    header = "deflate" if encoding == "raw-deflate" else encoding
    response = httpx.Response(200, headers={"content-encoding": header}, stream=httpx.ByteStream(b""))
    reader = BodyReader(response, limit)
    for start in range(0, len(raw), chunk):
        if not reader.feed(raw[start : start + chunk]):
            break
    answer = reader.answer()
    return answer.content, answer.problem


@pytest.mark.parametrize("chunk", [1, 7, 1 << 16])
@pytest.mark.parametrize("encoding", list(ENCODED))
def test_every_encoding_decodes_whole_in_any_chunking(encoding: str, chunk: int) -> None:
    assert read(encoding, ENCODED[encoding], len(BODY), chunk) == (BODY, None)


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_one_byte_over_the_cap_is_refused_and_the_content_is_cut_at_it(encoding: str) -> None:
    content, problem = read(encoding, ENCODED[encoding], len(BODY) - 1, 5)
    assert content == BODY[: len(BODY) - 1]
    assert problem is not None and "larger than max_response_bytes" in problem


def test_a_body_already_read_by_the_transport_is_capped_too() -> None:
    response = httpx.Response(200, content=BODY)
    reader = BodyReader(response, 100)
    assert reader.done
    answer = reader.answer()
    assert answer.content == BODY[:100]
    assert answer.problem is not None
