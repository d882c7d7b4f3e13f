"""Location normalization (SPEC section 5): city, ISO 3166-2 region, ISO 3166-1 country, remote.

Distinct location strings are far fewer than rows, so the work runs on ``unique()`` values and
each row takes its result by position (``transforms._lookup``). Each string is cut into parts
(commas, `` - ``, ``/``, ``;``, ``|``, brackets); the word "remote" and filler such as "Hybrid"
or "Europe" are removed; the parts are then read from the end, with joins against reference
frames built once from pycountry:

1. After a city (two or more parts), a last part that is a US state or Canadian province, by code
   or by name, is that subdivision (``Atlanta, GA`` and ``Atlanta, Georgia`` are US-GA, as the
   SPEC reads ``CA`` as California).
2. Otherwise a last part that names a country (name, official or common name, alias, alpha-2,
   alpha-3) is the country; with three or more parts the part before it may name a first-level
   subdivision of that country, by code or name (``Sydney, NSW, Australia`` -> AU-NSW).
3. Otherwise, after a city, a subdivision name that is unambiguous worldwide is the region
   (``Perth, Western Australia``); a bare part is a region only for US, Canadian and UK
   subdivisions (``Ontario``, ``NY``), because elsewhere many subdivisions share their city's
   name (``Berlin``, ``Tokyo``).
4. A region implies its country. The first part is the city when there are two or more parts
   (unless it is itself a country name, as in ``USA, Canada``); a lone part is the city only when
   it is nothing else and the text is not a remote one (``Remote (Americas)`` has no city).

Known limits: ``California, USA`` reads ``California`` as the city (the first part is the city);
``Bangalore, IN`` is Indiana, as the SPEC's two-letter rule says; cities are never geocoded, so
``Berlin`` alone has no country. A value that is not text (JSON object or list) gives nulls.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import polars as pl
import pycountry

from transforms._lookup import DistinctCache, lookup

__all__ = ["LOCATION_COLUMNS", "normalize_location"]

LOCATION_COLUMNS: Final[dict[str, pl.DataType]] = {
    "city": pl.String(),
    "region": pl.String(),
    "country_code": pl.String(),
    "is_remote": pl.Boolean(),
}

_COUNTRY_ALIASES: Final[dict[str, str]] = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "united kingdom": "GB",
    "us": "US",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "america": "US",
    "uae": "AE",
    "emirates": "AE",
    "deutschland": "DE",
    "holland": "NL",
    "nederland": "NL",
    "the netherlands": "NL",
    "espana": "ES",
    "italia": "IT",
    "brasil": "BR",
    "osterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "polska": "PL",
    "turkey": "TR",
    "russia": "RU",
    "korea": "KR",
    "south korea": "KR",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "macedonia": "MK",
    "vatican": "VA",
    "prc": "CN",
    "mainland china": "CN",
}

_SUBDIVISION_ALIASES: Final[dict[str, str]] = {
    "washington dc": "US-DC",
    "washington d c": "US-DC",
    "newfoundland": "CA-NL",
    "labrador": "CA-NL",
    "pei": "CA-PE",
    "bavaria": "DE-BY",
    "catalonia": "ES-CT",
    "andalusia": "ES-AN",
    "basque country": "ES-PV",
    "lombardy": "IT-25",
    "tuscany": "IT-52",
    "sicily": "IT-82",
    "sardinia": "IT-88",
    "north rhine-westphalia": "DE-NW",
    "lower saxony": "DE-NI",
    "hesse": "DE-HE",
}

# Parts that say where work happens but name no place.
_FILLER: Final[tuple[str, ...]] = (
    "remote",
    "anywhere",
    "hybrid",
    "onsite",
    "on-site",
    "on site",
    "in office",
    "in-office",
    "office",
    "wfh",
    "work from home",
    "home based",
    "home-based",
    "telecommute",
    "worldwide",
    "global",
    "globally",
    "international",
    "earth",
    "world",
    "europe",
    "eu",
    "emea",
    "apac",
    "latam",
    "amer",
    "americas",
    "north america",
    "south america",
    "latin america",
    "asia",
    "asia pacific",
    "africa",
    "middle east",
    "oceania",
    "nordics",
    "cet",
    "est",
    "pst",
    "utc",
    "gmt",
    "multiple locations",
    "various",
    "flexible",
    "tbd",
    "n/a",
    "na",
    "-",
)

_BARE_SUBDIVISION_COUNTRIES: Final[frozenset[str]] = frozenset({"US", "CA", "GB"})
_REMOTE = r"(?i)\b(?:remote|anywhere|wfh|work from home|home[- ]based|telecommut\w*)\b"
_SEPARATORS = r"\s+[-–—|/]\s+|\s[-–—]|[-–—]\s|[;|()\[\]{}/•·]"
_STRIP = " \t\r\n-–—:*'\""


def _key(expr: pl.Expr) -> pl.Expr:
    """Match key: lower case, no accents, dots or digits (zip codes), single spaces."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(".", "", literal=True)
        .str.replace_all(r"\d+", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ,-'\"")
        .str.replace(r"^(?:the|in|based in) ", "")
        .str.replace(r" only$", "")
    )


def _name_variants(name: str) -> list[str]:
    """pycountry names carry qualifiers: ``Madrid, Comunidad de``, ``Catalunya [Cataluña]``."""
    variants = [name]
    base = name.split(" [", 1)[0].split(" (", 1)[0]
    variants.append(base)
    if "[" in name:
        variants.append(name.split("[", 1)[1].rstrip("]"))
    if ", " in base:
        variants.append(base.split(", ", 1)[0])
    for suffix in (" Sheng", " Shi", " Zizhiqu", " SAR"):
        if base.endswith(suffix):
            variants.append(base.removesuffix(suffix))
    return variants


def _unambiguous(rows: list[tuple[str, str, int]], by: list[str]) -> pl.DataFrame:
    """Keep, per key, the best-priority value; drop keys whose best priority is ambiguous."""
    frame = pl.DataFrame(rows, schema=["raw_key", "value", "priority"], orient="row")
    if len(by) > 1:
        frame = frame.with_columns(pl.col("value").str.slice(0, 2).alias("country_code"))
    return (
        frame.with_columns(_key(pl.col("raw_key")).alias("key"))
        .filter(pl.col("key") != "")
        .filter(pl.col("priority") == pl.col("priority").min().over(by))
        .unique([*by, "value"])
        .filter(pl.len().over(by) == 1)
        .select(*by, "value")
        .sort(by)
    )


@lru_cache(maxsize=1)
def _countries() -> pl.DataFrame:
    """(key, country_code) for every way of naming a country."""
    rows: list[tuple[str, str, int]] = [(k, v, 0) for k, v in _COUNTRY_ALIASES.items()]
    for country in pycountry.countries:
        code = country.alpha_2
        rows += [(code, code, 1), (country.alpha_3, code, 1)]
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                rows += [(v, code, 2) for v in _name_variants(name)]
    return _unambiguous(rows, ["key"]).rename({"value": "country_code"})


@lru_cache(maxsize=1)
def _top_level_subdivisions() -> list[tuple[str, str, int]]:
    """(raw key, ISO 3166-2 code, priority) for codes and names of first-level subdivisions."""
    rows: list[tuple[str, str, int]] = [(k, v, 0) for k, v in _SUBDIVISION_ALIASES.items()]
    for sub in pycountry.subdivisions:
        if sub.parent_code is not None:
            continue
        rows.append((sub.code.split("-", 1)[1], sub.code, 1))
        rows += [(v, sub.code, 2) for v in _name_variants(sub.name)]
    return rows


@lru_cache(maxsize=1)
def _subdivisions_by_country() -> pl.DataFrame:
    """(country_code, key, region): a subdivision named within a known country."""
    return _unambiguous(_top_level_subdivisions(), ["country_code", "key"]).rename(
        {"value": "region"}
    )


@lru_cache(maxsize=1)
def _implicit_subdivisions() -> pl.DataFrame:
    """(key, region, us_ca, bare): subdivisions recognisable without their country.

    US and Canadian codes and names always; UK nations and unambiguous names elsewhere too,
    but those never as a 2-letter code (that is an ISO country code) nor as a country's name.
    """
    rows = _top_level_subdivisions()
    us_ca = [row for row in rows if row[1][:2] in {"US", "CA"}]
    named_elsewhere = [
        (raw, code, prio) for raw, code, prio in rows if code[:2] not in {"US", "CA"} and prio != 1
    ]
    first = _unambiguous(us_ca, ["key"]).with_columns(pl.lit(True).alias("us_ca"))
    rest = (
        _unambiguous(named_elsewhere, ["key"])
        .join(first.select("key"), on="key", how="anti")
        .join(_countries().select("key"), on="key", how="anti")
        .with_columns(pl.lit(False).alias("us_ca"))
    )
    return (
        pl.concat([first, rest])
        .rename({"value": "region"})
        .with_columns(
            pl.col("region")
            .str.slice(0, 2)
            .is_in(sorted(_BARE_SUBDIVISION_COUNTRIES))
            .alias("bare")
        )
    )


def _locations(values: pl.Series) -> pl.DataFrame:
    """Normalize each distinct location text; one output row per input value."""
    text = pl.col("location_raw").str.strip_chars()
    part = pl.element().str.strip_chars(_STRIP)
    parts = (
        text.str.replace_all(r"(?i)\bremote\b", ",")
        .str.replace_all(_SEPARATORS, ",")
        .str.split(",")
        .list.eval(part.filter((_key(part) != "") & ~_key(part).is_in(list(_FILLER))))
    )
    understood = ~text.str.contains(r"^[\[{]")
    frame = (
        pl.DataFrame({"location_raw": values})
        .with_columns(
            pl.when(understood).then(parts).alias("__parts"),
            pl.when(understood).then(text.str.contains(_REMOTE)).alias("is_remote"),
        )
        .with_columns(
            pl.col("__parts").list.len().fill_null(0).alias("__n"),
            pl.col("__parts").list.first().alias("__first"),
            _key(pl.col("__parts").list.first()).alias("__first_key"),
            _key(pl.col("__parts").list.get(-1, null_on_oob=True)).alias("__last_key"),
            _key(pl.col("__parts").list.get(-2, null_on_oob=True)).alias("__prev_key"),
        )
    )
    countries = _countries()
    implicit = _implicit_subdivisions()
    frame = (
        frame.join(
            countries.rename({"key": "__last_key", "country_code": "__last_country"}),
            on="__last_key",
            how="left",
            maintain_order="left",
        )
        .join(
            countries.rename({"key": "__first_key", "country_code": "__first_country"}),
            on="__first_key",
            how="left",
            maintain_order="left",
        )
        .join(
            implicit.rename(
                {
                    "key": "__last_key",
                    "region": "__last_region",
                    "us_ca": "__us_ca",
                    "bare": "__bare",
                }
            ),
            on="__last_key",
            how="left",
            maintain_order="left",
        )
    )
    n = pl.col("__n")
    last_region = pl.col("__last_region")
    last_is_region = (
        pl.when(n >= 2)
        .then(pl.col("__us_ca") | (pl.col("__last_country").is_null() & last_region.is_not_null()))
        .when(n == 1)
        .then(pl.col("__last_country").is_null() & pl.col("__bare"))
        .otherwise(False)
        .fill_null(False)
    )
    frame = frame.with_columns(
        last_is_region.alias("__last_is_region"),
        pl.when(~last_is_region).then(pl.col("__last_country")).alias("__country"),
    ).join(
        _subdivisions_by_country().rename(
            {"country_code": "__country", "key": "__prev_key", "region": "__prev_region"}
        ),
        on=["__country", "__prev_key"],
        how="left",
        maintain_order="left",
    )
    region = (
        pl.when(pl.col("__last_is_region"))
        .then(last_region)
        .when(n >= 3)
        .then(pl.col("__prev_region"))
    )
    city = (
        pl.when(
            (n >= 2)
            & (pl.col("__first_country").is_null() | (pl.col("__first_key").str.len_chars() <= 2))
        )
        .then(pl.col("__first"))
        .when(
            (n == 1)
            & ~pl.col("__last_is_region")
            & pl.col("__country").is_null()
            & ~pl.col("is_remote")
        )
        .then(pl.col("__first"))
    )
    return frame.with_columns(region.alias("region")).select(
        "location_raw",
        city.alias("city"),
        "region",
        pl.coalesce(pl.col("__country"), pl.col("region").str.slice(0, 2)).alias("country_code"),
        "is_remote",
    )


_PARSED: Final = DistinctCache(_locations, "location_raw")


def normalize_location(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``LOCATION_COLUMNS`` from ``location_raw``; a null location gives nulls throughout."""
    distinct = frame.get_column("location_raw").unique().drop_nulls()
    return frame.with_columns(lookup(frame, _PARSED.table(distinct), "location_raw").get_columns())
