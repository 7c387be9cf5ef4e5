import logging

from chaekieum.logsafe import MaskPersonalData, install, mask_text


def test_member_numbers_are_masked_in_text():
    assert mask_text('"GET /api/v1/members/11100126000016/loans HTTP/1.1" 200') == (
        '"GET /api/v1/members/11100126****16/loans HTTP/1.1" 200')
    assert mask_text("item $111001EM0000000001 code 111001") == (
        "item $111001EM0000000001 code 111001")  # 등록번호 and library codes stay


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
