"""SPEC section 5, location: one table of spellings and their full output."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms import normalize_location

N = None
# (location text, city, region, country_code, is_remote)
CASES: list[tuple[str, str | None, str | None, str | None, bool]] = [
    # US: city + state code (SPEC: CA is California, GA Georgia)
    ("San Francisco, CA", "San Francisco", "US-CA", "US", False),
    ("Atlanta, GA", "Atlanta", "US-GA", "US", False),
    ("New York, NY", "New York", "US-NY", "US", False),
    ("Austin, TX", "Austin", "US-TX", "US", False),
    ("Seattle, WA", "Seattle", "US-WA", "US", False),
    ("Boston, MA", "Boston", "US-MA", "US", False),
    ("Chicago, IL", "Chicago", "US-IL", "US", False),
    ("Denver, CO", "Denver", "US-CO", "US", False),
    ("Portland, OR", "Portland", "US-OR", "US", False),
    ("Washington, DC", "Washington", "US-DC", "US", False),
    ("San Juan, PR", "San Juan", "US-PR", "US", False),
    ("  Austin ,  tx  ", "Austin", "US-TX", "US", False),
    ("austin, tx", "austin", "US-TX", "US", False),
    ("New York, NY 10001", "New York", "US-NY", "US", False),
    ("Winston-Salem, NC", "Winston-Salem", "US-NC", "US", False),
    ("St. Louis, MO", "St. Louis", "US-MO", "US", False),
    ("Bangalore, IN", "Bangalore", "US-IN", "US", False),  # SPEC: a state code wins
    ("Munich, DE", "Munich", "US-DE", "US", False),  # DE is Delaware after a city
    # US: city + state name, with or without country
    ("Atlanta, Georgia", "Atlanta", "US-GA", "US", False),
    ("Los Angeles, California", "Los Angeles", "US-CA", "US", False),
    ("Austin, Texas, USA", "Austin", "US-TX", "US", False),
    ("Seattle, WA, USA", "Seattle", "US-WA", "US", False),
    ("Seattle, WA, United States", "Seattle", "US-WA", "US", False),
    ("Portland, Oregon, US", "Portland", "US-OR", "US", False),
    ("Boston, MA, U.S.A.", "Boston", "US-MA", "US", False),
    ("Miami, Florida, United States of America", "Miami", "US-FL", "US", False),
    ("Washington, District of Columbia", "Washington", "US-DC", "US", False),
    ("New York, USA", "New York", N, "US", False),
    ("Springfield, Sangamon County, IL", "Springfield", "US-IL", "US", False),
    # Canada
    ("Toronto, Ontario, Canada", "Toronto", "CA-ON", "CA", False),
    ("Toronto, ON", "Toronto", "CA-ON", "CA", False),
    ("Toronto, ON, Canada", "Toronto", "CA-ON", "CA", False),
    ("Vancouver, BC", "Vancouver", "CA-BC", "CA", False),
    ("Vancouver, British Columbia", "Vancouver", "CA-BC", "CA", False),
    ("Montreal, QC, Canada", "Montreal", "CA-QC", "CA", False),
    ("Montréal, Québec", "Montréal", "CA-QC", "CA", False),
    ("Calgary, AB", "Calgary", "CA-AB", "CA", False),
    ("Halifax, Nova Scotia", "Halifax", "CA-NS", "CA", False),
    ("Amsterdam, NL", "Amsterdam", "CA-NL", "CA", False),  # NL is Newfoundland after a city
    # City + ISO alpha-2 that is not a US/CA code
    ("Barcelona, ES", "Barcelona", N, "ES", False),
    ("lisbon, pt", "lisbon", N, "PT", False),
    ("Paris, FR", "Paris", N, "FR", False),
    ("London, GB", "London", N, "GB", False),
    ("Stockholm, SE", "Stockholm", N, "SE", False),
    ("Tokyo, JP", "Tokyo", N, "JP", False),
    # City + country name, alias or alpha-3
    ("Madrid, Spain", "Madrid", N, "ES", False),
    ("London, UK", "London", N, "GB", False),
    ("London, U.K.", "London", N, "GB", False),
    ("Manchester, United Kingdom", "Manchester", N, "GB", False),
    ("Edinburgh, Great Britain", "Edinburgh", N, "GB", False),
    ("Berlin, Germany", "Berlin", N, "DE", False),
    ("Berlin, Deutschland", "Berlin", N, "DE", False),
    ("Berlin, DEU", "Berlin", N, "DE", False),
    ("Paris, France", "Paris", N, "FR", False),
    ("Rotterdam, Holland", "Rotterdam", N, "NL", False),
    ("Amsterdam, The Netherlands", "Amsterdam", N, "NL", False),
    ("Dublin, Ireland", "Dublin", N, "IE", False),
    ("Zürich, Switzerland", "Zürich", N, "CH", False),
    ("São Paulo, Brazil", "São Paulo", N, "BR", False),
    ("Bangalore, India", "Bangalore", N, "IN", False),
    ("Tokyo, Japan", "Tokyo", N, "JP", False),
    ("Dubai, UAE", "Dubai", N, "AE", False),
    ("Abu Dhabi, United Arab Emirates", "Abu Dhabi", N, "AE", False),
    ("Seoul, South Korea", "Seoul", N, "KR", False),
    ("Hanoi, Vietnam", "Hanoi", N, "VN", False),
    ("Ho Chi Minh City, Viet Nam", "Ho Chi Minh City", N, "VN", False),
    ("Istanbul, Turkey", "Istanbul", N, "TR", False),
    ("Mexico City, México", "Mexico City", N, "MX", False),
    ("Taipei, Taiwan", "Taipei", N, "TW", False),
    ("Moscow, Russia", "Moscow", N, "RU", False),
    ("Prague, Czech Republic", "Prague", N, "CZ", False),
    ("Tbilisi, Georgia", "Tbilisi", "US-GA", "US", False),  # a state name wins after a city
    # Subdivisions elsewhere
    ("Sydney, NSW, Australia", "Sydney", "AU-NSW", "AU", False),
    ("Melbourne, Victoria, Australia", "Melbourne", "AU-VIC", "AU", False),
    ("Perth, Western Australia", "Perth", "AU-WA", "AU", False),
    ("Munich, Bavaria, Germany", "Munich", "DE-BY", "DE", False),
    ("Munich, Bayern, Germany", "Munich", "DE-BY", "DE", False),
    ("Barcelona, Catalonia, Spain", "Barcelona", "ES-CT", "ES", False),
    ("Cambridge, England", "Cambridge", "GB-ENG", "GB", False),
    ("Glasgow, Scotland, UK", "Glasgow", "GB-SCT", "GB", False),
    ("Pune, Maharashtra, India", "Pune", "IN-MH", "IN", False),
    ("Hybrid - London, England, UK", "London", "GB-ENG", "GB", False),
    # Bare countries, regions and cities
    ("Germany", N, N, "DE", False),
    ("Canada", N, N, "CA", False),
    ("USA", N, N, "US", False),
    ("United States", N, N, "US", False),
    ("India", N, N, "IN", False),
    ("Singapore", N, N, "SG", False),
    ("CA", N, N, "CA", False),  # alone, an ISO code: Canada
    ("ES", N, N, "ES", False),
    ("Georgia", N, N, "GE", False),
    ("NY", N, "US-NY", "US", False),
    ("California", N, "US-CA", "US", False),
    ("Ontario", N, "CA-ON", "CA", False),
    ("Scotland", N, "GB-SCT", "GB", False),
    ("Berlin", "Berlin", N, N, False),
    ("Tokyo", "Tokyo", N, N, False),
    ("NYC", "NYC", N, N, False),
    ("USA, Canada", N, N, "CA", False),
    # Remote
    ("Remote", N, N, N, True),
    ("remote", N, N, N, True),
    ("REMOTE", N, N, N, True),
    ("Fully Remote", N, N, N, True),
    ("Remote - US", N, N, "US", True),
    ("Remote-US", N, N, "US", True),
    ("US (Remote)", N, N, "US", True),
    ("Remote (US only)", N, N, "US", True),
    ("Remote, USA", N, N, "US", True),
    ("USA - Remote", N, N, "US", True),
    ("Remote / Canada", N, N, "CA", True),
    ("Remote, Canada", N, N, "CA", True),
    ("Remote, Europe", N, N, N, True),
    ("Remote (EU)", N, N, N, True),
    ("Remote - EMEA", N, N, N, True),
    ("Remote (Americas)", N, N, N, True),
    ("Anywhere (remote)", N, N, N, True),
    ("Anywhere", N, N, N, True),
    ("Work from home", N, N, N, True),
    ("Remote - Germany", N, N, "DE", True),
    ("UK (Remote)", N, N, "GB", True),
    ("Remote - San Francisco, CA", "San Francisco", "US-CA", "US", True),
    ("Austin, TX (Remote)", "Austin", "US-TX", "US", True),
    ("Toronto, ON - Remote", "Toronto", "CA-ON", "CA", True),
    ("Remote (US & Canada)", N, N, N, True),
    ("Remote in Spain", N, N, "ES", True),
    # Nothing to read
    ("", N, N, N, False),
    ("   ", N, N, N, False),
    ("Hybrid", N, N, N, False),
    ('{"city": "Berlin"}', N, N, N, N),  # a JSON object where text was expected
    ("[1, 2]", N, N, N, N),
]


@pytest.mark.parametrize(
    ("text", "city", "region", "country_code", "is_remote"),
    CASES,
    ids=[c[0] or "<blank>" for c in CASES],
)
def test_location_case(
    text: str,
    city: str | None,
    region: str | None,
    country_code: str | None,
    is_remote: bool | None,
) -> None:
    frame = normalize_location(pl.DataFrame({"location_raw": [text]}))
    assert frame.row(0) == (text, city, region, country_code, is_remote)


def test_whole_table_at_once_keeps_order_and_repeats() -> None:
    """Distinct values are normalized once and joined back: order and duplicates survive."""
    texts = [c[0] for c in CASES] * 2 + [None]
    frame = normalize_location(
        pl.DataFrame({"location_raw": texts}, schema={"location_raw": pl.String})
    )
    expected = pl.DataFrame(
        [c for c in CASES] * 2 + [(None, N, N, N, N)],
        schema={
            "location_raw": pl.String,
            "city": pl.String,
            "region": pl.String,
            "country_code": pl.String,
            "is_remote": pl.Boolean,
        },
        orient="row",
    )
    assert_frame_equal(frame, expected)


def test_other_columns_pass_through() -> None:
    frame = pl.DataFrame({"job_id": ["a", "b"], "location_raw": ["Remote", "Paris, France"]})
    out = normalize_location(frame)
    assert out.columns == ["job_id", "location_raw", "city", "region", "country_code", "is_remote"]
    assert out["job_id"].to_list() == ["a", "b"]
