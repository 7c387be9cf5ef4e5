import logging

from chaekieum.logsafe import MaskPersonalData, install, mask_text


def test_member_numbers_are_masked_in_text():
    assert mask_text('"GET /api/v1/members/11100126000016/loans HTTP/1.1" 200') == (
        '"GET /api/v1/members/11100126****16/loans HTTP/1.1" 200')
    assert mask_text("item $111001EM0000000001 code 111001") == (
        "item $111001EM0000000001 code 111001")  # 등록번호 and library codes stay


def test_other_numbers_are_not_mangled():
    """Only 14-digit runs with a right check digit are member numbers."""
    from chaekieum.domain.numbering import is_valid_member_number

    for other in ("11100126000017", "20260304101530", "98765432109876"):
        assert not is_valid_member_number(other)
        line = f"loan {other} moved; transit 12345 at /api/v1/transits/{other}/send"
        assert mask_text(line) == line
    line = "GET /api/v1/exceptions?limit=50&after=12345678901234567 took 1234567.89ms"
    assert mask_text(line) == line


def test_card_uids_and_personal_query_values_are_masked():
    assert mask_text("GET /api/v1/members/04A1B2C3D4E5F6/loans HTTP/1.1") == (
        "GET /api/v1/members/***/loans HTTP/1.1")
    assert mask_text("GET /console/members?q=%EA%B9%80%ED%95%98%EB%8A%98 HTTP/1.1") == (
        "GET /console/members?q=*** HTTP/1.1")
    assert mask_text("GET /api/v1/members?limit=5&q=kim&x=1") == "GET /api/v1/members?limit=5&q=***&x=1"
    # the same inside a login redirect's next= parameter
    assert mask_text("GET /login?next=%2Fconsole%2Fmembers%2F04A1B2C3%2Fprint") == (
        "GET /login?next=%2Fconsole%2Fmembers%2F***%2Fprint")
    assert mask_text("GET /login?next=%2Fconsole%2Fmembers%3Fq%3D%EA%B9%80") == (
        "GET /login?next=%2Fconsole%2Fmembers%3Fq%3D***")
    # placeholders of a log message stay (their arguments are masked on their own)
    assert mask_text("GET /members/%s?q=%(q)s") == "GET /members/%s?q=%(q)s"
    assert mask_text(mask_text("/members/11100126000016")) == "/members/11100126****16"


def test_filter_masks_arguments(caplog):
    logger = logging.getLogger("test.logsafe")
    logger.addFilter(MaskPersonalData())
    with caplog.at_level(logging.INFO, logger="test.logsafe"):
        logger.info("%s - %s", "127.0.0.1", "/api/v1/members/11100126000016")
    assert "11100126****16" in caplog.text and "11100126000016" not in caplog.text


def test_filter_masks_mapping_arguments(caplog):
    logger = logging.getLogger("test.logsafe.mapping")
    logger.addFilter(MaskPersonalData())
    with caplog.at_level(logging.INFO, logger="test.logsafe.mapping"):
        logger.info("member %(number)s", {"number": "11100126000016"})
    assert "member 11100126****16" in caplog.text and "11100126000016" not in caplog.text


def test_install_masks_every_logger_once(caplog):
    """Child loggers of the service and library loggers alike; installing twice wraps
    the record factory once."""
    before = logging.getLogRecordFactory()
    try:
        install()
        factory = logging.getLogRecordFactory()
        install()
        assert logging.getLogRecordFactory() is factory
        with caplog.at_level(logging.INFO):
            logging.getLogger("chaekieum.services.deep.child").info("%s", "11100126000016")
            logging.getLogger("some.library").info("member %s", "11100126000016")
        assert caplog.text.count("11100126****16") == 2 and "11100126000016" not in caplog.text
    finally:
        logging.setLogRecordFactory(before)


def test_json_log_lines_are_masked_too() -> None:
    """`--log-format json`: one JSON object per line, personal data masked as in text."""
    import io
    import json
    import logging

    from chaekieum import logsafe
    from chaekieum.domain.numbering import make_member_number

    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logsafe.configure("json", stream=stream)
        number = make_member_number("111001", 26, 17)
        logging.getLogger("chaekieum.test").warning("checkout for %s refused", number)
        line = json.loads(stream.getvalue().strip().splitlines()[-1])
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert line["level"] == "WARNING" and line["logger"] == "chaekieum.test"
    assert number not in line["message"] and "refused" in line["message"]
    assert "time" in line
