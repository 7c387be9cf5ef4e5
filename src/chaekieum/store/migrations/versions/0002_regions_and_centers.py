"""Regions (17 시·도) and the 22 regional centers (지역센터) of the seed document.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

REGIONS = [
    ("seoul", "서울", "Seoul"), ("busan", "부산", "Busan"), ("daegu", "대구", "Daegu"),
    ("incheon", "인천", "Incheon"), ("gwangju", "광주", "Gwangju"),
    ("daejeon", "대전", "Daejeon"), ("ulsan", "울산", "Ulsan"), ("sejong", "세종", "Sejong"),
    ("gyeonggi", "경기", "Gyeonggi"), ("gangwon", "강원", "Gangwon"),
    ("chungbuk", "충북", "Chungbuk"), ("chungnam", "충남", "Chungnam"),
    ("jeonbuk", "전북", "Jeonbuk"), ("jeonnam", "전남", "Jeonnam"),
    ("gyeongbuk", "경북", "Gyeongbuk"), ("gyeongnam", "경남", "Gyeongnam"),
    ("jeju", "제주", "Jeju"),
]

CENTERS = [
    ("seoul", "서울지역센터", "서울도서관", "02-2133-0210"),
    ("seoul", "서울중랑구지역센터", "서울 중랑구립정보도서관", "02-490-7479"),
    ("incheon", "인천미추홀지역센터", "인천 미추홀도서관", "032-440-6612"),
    ("incheon", "인천학나래지역센터", "인천 학나래도서관", "032-880-8704"),
    ("incheon", "인천교육청지역센터", "인천 북구도서관", "032-363-5033"),
    ("gyeonggi", "경기지역센터", "경기사이버도서관", "031-248-9995"),
    ("gangwon", "강원지역센터", "강원 춘천시립도서관", "033-245-5110"),
    ("daejeon", "대전지역센터", "대전 한밭도서관", "042-270-7476"),
    ("chungbuk", "충북지역센터", "충북 청주시립도서관", "043-201-4083"),
    ("chungnam", "충남지역센터", "충남도서관", "041-635-8067"),
    ("sejong", "국립세종지역센터", "국립세종도서관", "044-900-9137"),
    ("sejong", "세종지역센터", "세종시청", "044-300-3934"),
    ("gwangju", "광주지역센터", "광주시립무등도서관", "062-613-7745"),
    ("jeonbuk", "전북지역센터", "전북도청도서관", "063-280-2493"),
    ("jeonnam", "전남지역센터", "전남도립도서관", "061-288-5213"),
    ("daegu", "대구지역센터", "대구 중앙도서관", "053-231-2038"),
    ("busan", "부산지역센터", "부산시청 부산도서관", "051-888-2045"),
    ("ulsan", "울산지역센터", "울산도서관", "052-229-6984"),
    ("gyeongbuk", "경북지역센터", "경북도서관", "054-650-3933"),
    ("gyeongbuk", "경북교육청지역센터", "경상북도교육청정보센터", "053-810-9923"),
    ("gyeongnam", "경남지역센터", "경남대표도서관", "055-254-4843"),
    ("jeju", "제주지역센터", "제주 한라도서관", "064-710-8634"),
]


def upgrade() -> None:
    regions = sa.table(
        "regions", sa.column("code"), sa.column("name"), sa.column("name_en")
    )
    centers = sa.table(
        "regional_centers", sa.column("id"), sa.column("region_code"), sa.column("name"),
        sa.column("host_library"), sa.column("phone"),
    )
    op.bulk_insert(regions, [{"code": c, "name": n, "name_en": e} for c, n, e in REGIONS])
    op.bulk_insert(
        centers,
        [
            {"id": i, "region_code": r, "name": n, "host_library": h, "phone": p}
            for i, (r, n, h, p) in enumerate(CENTERS, start=1)
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM regional_centers")
    op.execute("DELETE FROM regions")
