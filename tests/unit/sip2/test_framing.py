import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaekieum.sip2.codec import FrameError, decode_request
from chaekieum.sip2.framing import FrameBuffer, Oversized, looks_like_tls, sniff_garbage

LOGIN = b"9300CNkiosk|COpw|CP111001|"
STATUS = b"9900802.00AY1AZFCA0"


def feed_all(buf: FrameBuffer, *chunks: bytes) -> list:
    out = []
    for chunk in chunks:
        out.extend(buf.feed(chunk))
    return out


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n"])
def test_each_terminator(terminator):
    buf = FrameBuffer()
    assert buf.feed(LOGIN + terminator + STATUS + terminator) == [LOGIN, STATUS]
    assert buf.pending == 0


def test_mixed_terminators_and_blank_lines():
    buf = FrameBuffer()
    data = b"\r\n\n" + LOGIN + b"\r\n\r\n  \n\x00\r" + STATUS + b"\n\r"
    assert buf.feed(data) == [LOGIN, STATUS]


def test_split_packets():
    buf = FrameBuffer()
    assert buf.feed(LOGIN[:5]) == []
    assert buf.feed(LOGIN[5:]) == []
    assert buf.pending == len(LOGIN)
    assert buf.feed(b"\r") == [LOGIN]
    assert buf.pending == 0


def test_crlf_split_between_packets():
    buf = FrameBuffer()
    assert feed_all(buf, LOGIN + b"\r", b"\n" + STATUS + b"\r", b"\n") == [LOGIN, STATUS]


def test_merged_packets_with_partial_tail():
    buf = FrameBuffer()
    assert buf.feed(LOGIN + b"\r" + STATUS + b"\r" + LOGIN[:7]) == [LOGIN, STATUS]
    assert buf.feed(LOGIN[7:] + b"\r") == [LOGIN]


def test_byte_at_a_time():
    buf = FrameBuffer()
    data = LOGIN + b"\r\n" + STATUS + b"\r"
    assert feed_all(buf, *(data[i : i + 1] for i in range(len(data)))) == [LOGIN, STATUS]


def test_request_over_4kb_is_fine():
    big = b"63000" + b"20240301    103000" + b" " * 10 + b"AF" + b"x" * 6000 + b"|"
    buf = FrameBuffer()
    assert feed_all(buf, big[:1460], big[1460:2920], big[2920:] + b"\r") == [big]


def test_oversized_frame_in_one_chunk():
    buf = FrameBuffer(max_frame_bytes=100)
    out = buf.feed(b"9" * 150 + b"\r" + STATUS + b"\r")
    assert isinstance(out[0], Oversized) and out[0].size == 150
    assert out[0].head == b"9" * 64 and "150" in str(out[0])
    assert out[1:] == [STATUS]


def test_oversized_frame_streamed_is_reported_once_and_memory_stays_bounded():
    buf = FrameBuffer(max_frame_bytes=1000)
    out = []
    for _ in range(500):  # 500 KB without a terminator
        out.extend(buf.feed(b"x" * 1000))
        assert buf.pending <= 1000
    assert len(out) == 1 and isinstance(out[0], Oversized)
    assert out[0].size > 1000 and out[0].head == b"x" * 64
    assert buf.feed(b"tail of the monster\r" + STATUS + b"\r") == [STATUS]


def test_frame_exactly_at_the_cap_is_accepted():
    buf = FrameBuffer(max_frame_bytes=len(STATUS))
    assert buf.feed(STATUS[:3]) == []
    assert buf.feed(STATUS[3:] + b"\r") == [STATUS]
    out = buf.feed(STATUS + b"X\r")
    assert len(out) == 1 and isinstance(out[0], Oversized)


def test_reset_and_bad_cap():
    buf = FrameBuffer()
    buf.feed(b"half")
    buf.reset()
    assert buf.pending == 0 and buf.feed(STATUS + b"\r") == [STATUS]
    with pytest.raises(ValueError):
        FrameBuffer(0)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (bytes.fromhex("160301020001000001fc0303"), "tls"),  # TLS 1.0 record, ClientHello
        (bytes.fromhex("16030300"), "tls"),
        (b"\x16", "tls"),
        (bytes.fromhex("802b0103010012"), "tls"),  # SSLv2-compatible ClientHello
        (b"GET / HTTP/1.1\r\nHost: x\r\n", "http"),
        (b"PRI * HTTP/2.0\r\n", "http"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", None),  # text: decoded, then answered as unknown
        (b"\x00\x01\x02\x03binary", "binary"),
        (b"\x1b[A", "binary"),
        (STATUS, None),
        (b"9300CN\xed\x99\x8d|", None),  # UTF-8 Korean is text
        (b"", None),
    ],
)
def test_sniff_garbage(data, kind):
    assert sniff_garbage(data) == kind
    assert looks_like_tls(data) == (kind == "tls")


def test_tls_bytes_through_the_pipeline_never_crash():
    hello = bytes.fromhex("16030100a5010000a10303") + bytes(range(256))
    buf = FrameBuffer()
    for frame in buf.feed(hello + b"\r\n"):
        if isinstance(frame, bytes):
            with pytest.raises(FrameError):
                decode_request(frame)


# --- properties -------------------------------------------------------------------------

TERMINATORS = st.sampled_from([b"\r", b"\n", b"\r\n", b"\r\n\r\n", b"\n\n"])
FRAME = st.binary(min_size=1, max_size=80).filter(
    lambda b: b"\r" not in b and b"\n" not in b and b.strip(b" \t\x00") != b""
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


@settings(max_examples=200)
@given(st.lists(st.tuples(FRAME, TERMINATORS), max_size=8), st.lists(st.integers(0, 10**6)))
def test_frames_survive_any_chunking(frames, cuts):
    data = b"".join(frame + term for frame, term in frames)
    buf = FrameBuffer()
    assert feed_all(buf, *chunked(data, cuts)) == [frame for frame, _ in frames]
    assert buf.pending == 0


@settings(max_examples=300)
@given(
    st.binary(max_size=600),
    st.lists(st.integers(0, 10**6), max_size=10),
    st.sampled_from(["utf-8", "euc-kr", "cp949", "cp850"]),
)
def test_any_bytes_feed_and_decode_raise_only_frame_error(data, cuts, encoding):
    buf = FrameBuffer(max_frame_bytes=128)
    for item in feed_all(buf, *chunked(data, cuts)):
        if isinstance(item, Oversized):
            assert item.size > 128 and len(item.head) <= 64
            continue
        assert b"\r" not in item and b"\n" not in item and 0 < len(item) <= 128
        try:
            decode_request(item, encoding)
        except FrameError:
            pass
    assert buf.pending <= 128
