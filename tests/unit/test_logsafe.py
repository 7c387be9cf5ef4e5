import logging

from chaekieum.logsafe import MaskPersonalData, mask_text


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
