"""Deterministic sample landing data: what the distributors' and the ERP's extracts look like.

Writes all seven datasets of domain.md section 4 in the layout of section 3
(`<out>/<dataset>/dt=<YYYY-MM-DD>/part-NNN.parquet`), with the declared Arrow types, for an
invented Indian adhesives / sealants / paints manufacturer, and with every kind of messiness
the business rules of section 5 exist for (stray spaces and lower case in codes, empty codes,
re-sent and stale corrections, exact duplicates, credit notes, rejects, multi-hop and cyclic
material remaps, TSR moves, unknown members, several dimension drops, junk files).

Determinism and appends: master data (materials, customers, TSRs, users) and the calendar of
their changes come from the seed and the first day of the window alone; every file of day D
comes from an RNG seeded by (seed, D, dataset). So `--days N+1 --end D+1` writes byte-identical
files for the days it shares with `--days N --end D` and adds only day D+1's files (one new
morning drop plus the evening snapshot of the last day). Files whose bytes would not change
are not rewritten, so their mtimes stay put.

    python -m loader.sample --out data/landing --days 400 --seed 7 --end 2026-11-26 --scale 1.0
"""

from __future__ import annotations

import argparse
import bisect
import multiprocessing
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from loader.datasets import load_datasets

DEFAULT_END = date(2026, 11, 26)
DEFAULT_DAYS = 400
DEFAULT_SEED = 7

# Volume at scale 1.0: ~1M fis lines over 400 days, fid a tenth of that.
FIS_LINES_PER_DAY = 2300.0
FID_LINES_PER_DAY = 245.0
N_RETAILERS = 20_000
N_DISTRIBUTORS = 200
MIN_RETAILERS = 50
MIN_DISTRIBUTORS = 5
N_TSRS = 300

DIMENSION_EVERY_DAYS = 30  # evening snapshots: first day, every 30 days, last day
GST = 0.18
EPOCH = date(1970, 1, 1).toordinal()
NEVER = 10**9  # an ordinal later than any date
PRE = 1  # an ordinal earlier than any date of interest

LINES_PER_INVOICE = (1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 10, 12)
LINES_PER_DELIVERY = tuple(range(1, 13))

# ----------------------------------------------------------------------------------------------
# small helpers


def _rng(seed: int, *parts: object) -> random.Random:
    """An RNG for one purpose; str seeds hash with SHA-512, so it is stable across runs."""
    return random.Random("|".join(str(p) for p in (seed, *parts)))


def _count(rng: random.Random, expected: float) -> int:
    """Randomised rounding: the expectation is kept also for small expected counts."""
    n = int(expected)
    return n + (1 if rng.random() < expected - n else 0)


def _due(ordinal: int, every: int, phase: int = 0) -> int:
    """1 on one day in `every` (by calendar date, so append-stable), else 0."""
    return 1 if (ordinal + phase) % every == 0 else 0


def _ts(ordinal: int, seconds: int, micros: int = 0) -> int:
    """Microseconds since the epoch of a local wall-clock time on a date (no time zone)."""
    return ((ordinal - EPOCH) * 86_400 + seconds) * 1_000_000 + micros


def _at(rng: random.Random, ordinal: int, from_hour: float, to_hour: float) -> int:
    """A random wall-clock time (microsecond precision) between two hours of a date."""
    lo, hi = int(from_hour * 3600), int(to_hour * 3600)
    return _ts(ordinal, lo + int(rng.random() * (hi - lo)), int(rng.random() * 1_000_000))


def _messy(rng: random.Random, code: str) -> str:
    """A code as a careless extract writes it: stray whitespace and/or lower case (R1)."""
    k = rng.random()
    if k < 0.30:
        return code.lower()
    if k < 0.50:
        return " " + code
    if k < 0.70:
        return code + "  "
    if k < 0.95:
        return " " + code.lower() + " "
    return "\t" + code  # a tab is whitespace too


def _timeline_at(timeline: list[tuple[int, object]], ordinal: int) -> object:
    """Value of a sorted (from_ordinal, value) timeline on a date (the first value before it)."""
    value = timeline[0][1]
    for start, v in timeline:
        if start <= ordinal:
            value = v
        else:
            break
    return value


def _volume_factor(d: date) -> float:
    """Relative daily volume: weekday, month-end push, season, ~10 % yearly growth."""
    weekday = (1.05, 1.05, 1.0, 1.0, 1.05, 1.15, 0.45)[d.weekday()]
    season = (0.95, 1.0, 1.15, 0.95, 1.05, 0.95, 0.82, 0.85, 0.95, 1.2, 1.2, 1.0)[d.month - 1]
    next_month = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    month_end = 1.2 if (next_month - d).days <= 3 else 1.0
    trend = 1.10 ** ((d.toordinal() - date(2026, 1, 1).toordinal()) / 365.25)
    return weekday * season * month_end * trend


# ----------------------------------------------------------------------------------------------
# geography: zone -> region -> cities (one territory each; big cities are split in two)

GEOGRAPHY = [
    ("NORTH", [
        ("N1", [("Delhi", "Delhi", "110"), ("Gurugram", "Haryana", "122"), ("Faridabad", "Haryana", "121"),
                ("Noida", "Uttar Pradesh", "201"), ("Ghaziabad", "Uttar Pradesh", "201"), ("Sonipat", "Haryana", "131")]),
        ("N2", [("Ludhiana", "Punjab", "141"), ("Amritsar", "Punjab", "143"), ("Jalandhar", "Punjab", "144"),
                ("Patiala", "Punjab", "147"), ("Chandigarh", "Chandigarh", "160"), ("Shimla", "Himachal Pradesh", "171")]),
        ("N3", [("Lucknow", "Uttar Pradesh", "226"), ("Kanpur", "Uttar Pradesh", "208"), ("Varanasi", "Uttar Pradesh", "221"),
                ("Agra", "Uttar Pradesh", "282"), ("Meerut", "Uttar Pradesh", "250"), ("Prayagraj", "Uttar Pradesh", "211"),
                ("Bareilly", "Uttar Pradesh", "243")]),
    ]),
    ("WEST", [
        ("W1", [("Mumbai", "Maharashtra", "400"), ("Thane", "Maharashtra", "400"), ("Pune", "Maharashtra", "411"),
                ("Nagpur", "Maharashtra", "440"), ("Nashik", "Maharashtra", "422"), ("Aurangabad", "Maharashtra", "431"),
                ("Kolhapur", "Maharashtra", "416")]),
        ("W2", [("Ahmedabad", "Gujarat", "380"), ("Surat", "Gujarat", "395"), ("Vadodara", "Gujarat", "390"),
                ("Rajkot", "Gujarat", "360"), ("Bhavnagar", "Gujarat", "364"), ("Jamnagar", "Gujarat", "361")]),
        ("W3", [("Jaipur", "Rajasthan", "302"), ("Jodhpur", "Rajasthan", "342"), ("Udaipur", "Rajasthan", "313"),
                ("Kota", "Rajasthan", "324"), ("Ajmer", "Rajasthan", "305"), ("Bikaner", "Rajasthan", "334")]),
    ]),
    ("SOUTH", [
        ("S1", [("Bengaluru", "Karnataka", "560"), ("Mysuru", "Karnataka", "570"), ("Hubballi", "Karnataka", "580"),
                ("Mangaluru", "Karnataka", "575"), ("Belagavi", "Karnataka", "590"), ("Davangere", "Karnataka", "577")]),
        ("S2", [("Chennai", "Tamil Nadu", "600"), ("Coimbatore", "Tamil Nadu", "641"), ("Madurai", "Tamil Nadu", "625"),
                ("Tiruchirappalli", "Tamil Nadu", "620"), ("Kochi", "Kerala", "682"),
                ("Thiruvananthapuram", "Kerala", "695"), ("Salem", "Tamil Nadu", "636")]),
        ("S3", [("Hyderabad", "Telangana", "500"), ("Warangal", "Telangana", "506"), ("Vijayawada", "Andhra Pradesh", "520"),
                ("Visakhapatnam", "Andhra Pradesh", "530"), ("Guntur", "Andhra Pradesh", "522"),
                ("Tirupati", "Andhra Pradesh", "517")]),
    ]),
    ("EAST", [
        ("E1", [("Kolkata", "West Bengal", "700"), ("Howrah", "West Bengal", "711"), ("Siliguri", "West Bengal", "734"),
                ("Durgapur", "West Bengal", "713"), ("Bhubaneswar", "Odisha", "751"), ("Cuttack", "Odisha", "753")]),
        ("E2", [("Patna", "Bihar", "800"), ("Gaya", "Bihar", "823"), ("Muzaffarpur", "Bihar", "842"),
                ("Ranchi", "Jharkhand", "834"), ("Jamshedpur", "Jharkhand", "831"), ("Guwahati", "Assam", "781")]),
    ]),
    ("CENTRAL", [
        ("C1", [("Indore", "Madhya Pradesh", "452"), ("Bhopal", "Madhya Pradesh", "462"), ("Jabalpur", "Madhya Pradesh", "482"),
                ("Gwalior", "Madhya Pradesh", "474"), ("Raipur", "Chhattisgarh", "492"), ("Bilaspur", "Chhattisgarh", "495")]),
    ]),
]  # fmt: skip
BIG_CITIES = {"Delhi", "Mumbai", "Bengaluru", "Chennai", "Hyderabad"}

PLANTS = [  # plant, zone it mainly serves
    ("P101", "WEST"), ("P102", "WEST"), ("P201", "NORTH"), ("P301", "SOUTH"),
    ("P401", "EAST"), ("P501", "CENTRAL"),
]  # fmt: skip

FIRST_NAMES = (
    "Aarav", "Aditi", "Ajay", "Akash", "Amit", "Ananya", "Anil", "Anita", "Arjun", "Asha",
    "Deepak", "Divya", "Gaurav", "Geeta", "Harish", "Kavita", "Kiran", "Lakshmi", "Mahesh",
    "Manish", "Meena", "Mohan", "Neha", "Nikhil", "Pooja", "Prakash", "Priya", "Rahul",
    "Rajesh", "Ramesh", "Ravi", "Rekha", "Rohit", "Sachin", "Sandeep", "Sanjay", "Shalini",
    "Sunil", "Suresh", "Swati", "Tarun", "Usha", "Vijay", "Vikram", "Vinod", "Yogesh",
)  # fmt: skip
LAST_NAMES = (
    "Agarwal", "Bhat", "Chatterjee", "Das", "Desai", "Dubey", "Gupta", "Iyer", "Jain", "Joshi",
    "Kapoor", "Khan", "Kulkarni", "Kumar", "Menon", "Mishra", "Nair", "Naidu", "Patel",
    "Pillai", "Rao", "Reddy", "Saxena", "Shah", "Sharma", "Singh", "Sinha", "Tiwari", "Verma",
    "Yadav",
)  # fmt: skip
SHOP_PREFIXES = (
    "Shree Ganesh", "Sai", "Jai Mata Di", "Balaji", "Om", "New", "Royal", "Krishna", "Laxmi",
    "Ambika", "Mahalaxmi", "Sri Venkateswara", "Bharat", "Star", "National", "City", "Modern",
    "Vishwakarma", "Durga", "Hanuman", "Annapurna", "Guru Kripa", "Shiv Shakti", "Maruti",
    "Janta",
)  # fmt: skip
SHOP_SUFFIXES = (
    "Hardware", "Paints", "Traders", "Hardware & Paints", "Sanitary & Hardware",
    "Ply & Hardware", "Stores", "Enterprises", "Glass & Plywood", "Colour House",
)  # fmt: skip
DISTRIBUTOR_SUFFIXES = ("Distributors", "Agencies", "Marketing", "Trading Co.", "Enterprises")
RETAIL_CHANNELS = (("HARDWARE", 45), ("PAINT_DEALER", 25), ("PLYWOOD", 15), ("STATIONERY", 8),
                   ("MODERN_TRADE", 7))  # fmt: skip

# ----------------------------------------------------------------------------------------------
# catalogue: brand, category, sub-category, product names, packs, rupees per pack unit, weight

_SHADES_EMULSION = ("BRILLIANT WHITE", "OFF WHITE", "IVORY", "SKY BLUE", "LEMON", "PEACH")
_SHADES_ENAMEL = ("WHITE", "BLACK", "SIGNAL RED", "BUS GREEN", "OXFORD BLUE", "GOLDEN YELLOW")
_SHADES_CRAFT = ("RED", "BLUE", "GREEN", "YELLOW", "BLACK", "WHITE", "GOLD", "SILVER")
_G = ((50, "G"), (100, "G"), (250, "G"), (500, "G"), (1, "KG"), (5, "KG"), (10, "KG"), (20, "KG"))
_L = ((1, "L"), (4, "L"), (10, "L"), (20, "L"))

CATALOGUE = [
    ("BONDMAX", "ADHESIVES", "WHITE GLUE", ("SUPER", "MARINE", "PRO", "D3 WATERPROOF", "HI-PER"), _G, 0.38, 9.0),
    ("BONDMAX", "ADHESIVES", "SPRAY ADHESIVE", ("SPRAY 360", "FOAM FIX"), ((300, "ML"), (500, "ML")), 1.1, 0.8),
    ("BONDMAX", "ADHESIVES", "FABRIC GLUE", ("FABRI-BOND",), ((30, "ML"), (100, "ML"), (250, "ML")), 1.3, 0.5),
    ("BONDMAX", "ADHESIVES", "SYNTHETIC RUBBER", ("SR 998", "HEATX"),
     ((50, "ML"), (200, "ML"), (500, "ML"), (1, "L"), (5, "L")), 0.65, 4.0),
    ("FIXFAST", "ADHESIVES", "INSTANT", ("QUICK", "GEL"), ((3, "G"), (10, "G"), (20, "G")), 4.0, 3.0),
    ("FIXFAST", "ADHESIVES", "EPOXY", ("STEEL", "CLEAR", "WOOD", "KWIK"),
     ((18, "G"), (36, "G"), (90, "G"), (180, "G")), 2.6, 3.0),
    ("FIXFAST", "ADHESIVES", "THREADLOCKER", ("LOCK 242", "LOCK 271"), ((10, "ML"), (50, "ML")), 9.0, 0.4),
    ("SEALPRO", "SEALANTS", "SILICONE", ("GP", "NEUTRAL", "KITCHEN & BATH", "GLASS"),
     ((50, "ML"), (280, "ML"), (300, "ML")), 1.2, 3.5),
    ("SEALPRO", "SEALANTS", "ACRYLIC", ("GAP FILLER", "PAINTABLE"), ((280, "ML"), (500, "ML")), 0.6, 1.5),
    ("SEALPRO", "SEALANTS", "PU", ("PU 40", "PU ROOF"), ((300, "ML"), (600, "ML")), 1.4, 1.0),
    ("AQUASHIELD", "WATERPROOFING", "LIQUID MEMBRANE", ("ROOF COAT", "FLEX", "BATH SHIELD"), _L, 260.0, 3.0),
    ("AQUASHIELD", "WATERPROOFING", "CEMENT ADDITIVE", ("LW PLUS", "URP"),
     ((200, "ML"), (1, "L"), (5, "L"), (20, "L")), 0.18, 2.5),
    ("COLORKING", "PAINTS", "INTERIOR EMULSION", ("SILK", "LUXE", "ECO"), _L, 310.0, 2.6),
    ("COLORKING", "PAINTS", "EXTERIOR EMULSION", ("WEATHERMAX", "WEATHERMAX ULTRA"), _L, 380.0, 2.0),
    ("COLORKING", "PAINTS", "ENAMEL", ("SATIN GLOSS", "HI-GLOSS"), ((100, "ML"), (200, "ML"), (500, "ML"), (1, "L"), (4, "L")),
     0.42, 1.2),
    ("COLORKING", "PAINTS", "PRIMER", ("WALL PRIMER", "RED OXIDE", "WOOD PRIMER"), _L, 180.0, 1.5),
    ("WOODSHINE", "WOOD FINISHES", "POLISH", ("FRENCH", "MELAMINE", "PU CLEAR"),
     ((100, "ML"), (500, "ML"), (1, "L"), (4, "L")), 0.55, 1.6),
    ("WOODSHINE", "WOOD FINISHES", "STAIN", ("WALNUT", "TEAK", "MAHOGANY"), ((200, "ML"), (1, "L")), 0.45, 0.6),
    ("WOODSHINE", "WOOD FINISHES", "LACQUER", ("NC SEALER", "NC CLEAR"), ((500, "ML"), (1, "L"), (4, "L")), 0.5, 0.7),
    ("CRAFTIQ", "ART & CRAFT", "ACRYLIC COLOUR", ("ACRYLIC",), ((15, "ML"), (100, "ML")), 1.4, 0.6),
    ("CRAFTIQ", "ART & CRAFT", "FABRIC COLOUR", ("FABRIC",), ((15, "ML"),), 1.5, 0.8),
    ("CRAFTIQ", "ART & CRAFT", "GLITTER GLUE", ("GLITTER",), ((10, "ML"), (50, "ML")), 2.0, 0.5),
    ("CRAFTIQ", "ART & CRAFT", "CRAFT KIT", ("KIDS KIT", "CLAY ART", "CANVAS KIT"), ((1, "PC"),), 249.0, 0.4),
    ("TILEFIX", "CONSTRUCTION CHEMICALS", "TILE ADHESIVE", ("T1", "T2 FLEX", "STONE FIX"),
     ((1, "KG"), (20, "KG"), (40, "KG")), 22.0, 1.8),
    ("TILEFIX", "CONSTRUCTION CHEMICALS", "TILE CLEANER", ("CLEAN 1", "ACID FREE"), ((1, "L"), (5, "L")), 110.0, 0.3),
    ("TILEFIX", "CONSTRUCTION CHEMICALS", "GROUT", ("EPOXY GROUT", "CEMENT GROUT"), ((1, "KG"), (5, "KG")), 90.0, 1.0),
]  # fmt: skip
SHADED = {"INTERIOR EMULSION": _SHADES_EMULSION, "EXTERIOR EMULSION": _SHADES_EMULSION[:4],
          "ENAMEL": _SHADES_ENAMEL, "FABRIC COLOUR": _SHADES_CRAFT, "ACRYLIC COLOUR": _SHADES_CRAFT, "GLITTER GLUE": _SHADES_CRAFT[:5]}  # fmt: skip
# Monthly brand demand (Jan..Dec): paints peak before Diwali and sag in the monsoon,
# waterproofing peaks just before the monsoon, craft peaks with the school year.
BRAND_SEASON = {
    "COLORKING": (0.9, 0.95, 1.1, 1.0, 1.0, 0.85, 0.65, 0.7, 0.95, 1.45, 1.4, 1.0),
    "AQUASHIELD": (0.8, 0.85, 1.0, 1.25, 1.5, 1.6, 1.2, 0.9, 0.8, 0.8, 0.8, 0.8),
    "CRAFTIQ": (1.0, 1.0, 0.9, 1.0, 1.1, 1.4, 1.3, 1.2, 1.0, 1.1, 1.0, 1.2),
}  # fmt: skip

# ----------------------------------------------------------------------------------------------
# master data


@dataclass
class Material:
    code: str
    desc: str
    brand: list[tuple[int, str]]  # timeline
    category: str
    sub_category: str
    pack_size: float
    uom: str
    mrp: list[tuple[int, int]]  # timeline of MRP in paise
    active: list[tuple[int, bool]]  # timeline
    published: int  # first date it is in the master snapshots
    created: int  # microseconds
    qty_choices: tuple[float, ...]
    case_units: int
    ptr: int  # price to retailer, paise, before tax
    dp: int  # distributor price, paise, before tax

    def updated_at(self, ordinal: int) -> int:
        """Timestamp of the last change on or before a date."""
        last = max(
            [self.published]
            + [o for tl in (self.brand, self.mrp, self.active) for o, _ in tl[1:] if o <= ordinal]
        )
        return self.created if last <= PRE + 1 else _ts(last, 20 * 3600 + self.created % 3600)


@dataclass
class Family:
    """One sellable product over time: the code in use changes with each remap."""

    codes: list[tuple[int, str]]  # timeline of the code in use
    weight: float
    brand: str
    sold_from: int = PRE
    sold_to: int = NEVER


@dataclass
class MapRow:
    old: str | None
    new: str | None
    effective: int | None  # ordinal
    visible_from: int = PRE
    visible_to: int = NEVER


@dataclass
class Territory:
    code: str
    name: str
    city: str
    state: str
    pin: str
    org: list[tuple[int, tuple[str, str, str, str]]]  # timeline of (so, asm, region, zone)


@dataclass
class Tsr:
    code: str
    name: str
    posts: list[tuple[int, int]]  # timeline of territory index; the first date = selling start
    hired: int = PRE
    first_version: int = PRE  # effective_from of its first hierarchy row (late for new hires)


@dataclass
class HierRow:
    values: tuple  # (tsr_code, tsr_name, territory_code, territory_name, so, asm, region, zone)
    effective: int | None
    updated: int | None
    visible_from: int = PRE
    visible_to: int = NEVER


@dataclass
class Customer:
    code: str
    name: str
    kind: str  # DISTRIBUTOR / RETAILER
    distributor: str | None
    tsr: list[tuple[int, str]]  # timeline
    territory: int
    pincode: str
    channel: str
    onboard: int  # first date in the master and in sales
    deactivated: int  # NEVER while active
    created: int  # microseconds
    weight: float

    def updated_at(self, ordinal: int) -> int:
        events = [o for o, _ in self.tsr[1:] if o <= ordinal]
        if self.deactivated <= ordinal and self.deactivated > PRE:
            events.append(self.deactivated)
        if self.onboard > PRE:
            events.append(self.onboard)
        if not events:
            return self.created
        return _ts(max(events), 19 * 3600 + self.created % 7200)


@dataclass
class AccessRow:
    email: str | None
    level: str
    value: str | None
    active: list[tuple[int, bool]]
    visible_from: int = PRE
    visible_to: int = NEVER


@dataclass
class Master:
    seed: int
    start: int  # ordinal of the first day
    scale: float
    territories: list[Territory] = field(default_factory=list)
    tsrs: list[Tsr] = field(default_factory=list)
    hierarchy: list[HierRow] = field(default_factory=list)
    materials: dict[str, Material] = field(default_factory=dict)
    families: list[Family] = field(default_factory=list)
    code_map: list[MapRow] = field(default_factory=list)
    unknown_materials: list[str] = field(default_factory=list)
    distributors: list[Customer] = field(default_factory=list)
    retailers: list[Customer] = field(default_factory=list)
    unknown_retailers: list[Customer] = field(default_factory=list)
    unknown_distributors: list[str] = field(default_factory=list)
    # new hires sell before HR records them: (hired, first version, tsr_code) and their outlets
    limbo: list[tuple[int, int, str]] = field(default_factory=list)
    limbo_retailers: dict[str, list[Customer]] = field(default_factory=dict)
    access: list[AccessRow] = field(default_factory=list)
    # sampling tables
    family_cum: dict[int, list[float]] = field(default_factory=dict)  # month -> cum weights
    retailer_cum: list[float] = field(default_factory=list)
    distributor_cum: list[float] = field(default_factory=list)

    def day(self, offset: int) -> int:
        return self.start + offset


def _event_offset(rng: random.Random, early_share: float = 0.3) -> int:
    """Day offset of an event: some in the first five weeks (so short windows see them),
    the rest spread over the year."""
    if rng.random() < early_share:
        return rng.randint(3, 35)
    return rng.randint(40, 385)


def _build_geography(m: Master) -> None:
    idx = 0
    so = asm = 0
    for zone, regions in GEOGRAPHY:
        for region, cities in regions:
            terrs = []
            for city, state, pin in cities:
                names = [city + " East", city + " West"] if city in BIG_CITIES else [city]
                for name in names:
                    idx += 1
                    terrs.append(Territory(f"T{idx:03d}", name, city, state, pin, []))
            asm_first = asm + 1
            asm += 2
            n_so = (len(terrs) + 1) // 2
            for i, t in enumerate(terrs):
                so_code = f"SO{so + i // 2 + 1:03d}"
                asm_code = f"ASM{asm_first + (0 if i // 2 < n_so / 2 else 1):02d}"
                t.org = [(PRE, (so_code, asm_code, region, zone))]
            so += n_so
            m.territories.extend(terrs)


def _build_tsrs(m: Master) -> None:
    rng = _rng(m.seed, "master", "tsr")
    terrs = m.territories
    per = [3] * len(terrs)
    for _ in range(N_TSRS - 3 * len(terrs)):
        i = rng.randrange(len(terrs))
        while per[i] >= 6:
            i = rng.randrange(len(terrs))
        per[i] += 1
    n = 0
    for ti, k in enumerate(per):
        for _ in range(k):
            n += 1
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            first = m.start - rng.randint(30, 900)
            m.tsrs.append(Tsr(f"TSR{n:04d}", name, [(first, ti)]))
    order = list(range(len(m.tsrs)))
    rng.shuffle(order)
    # new hires: selling from `hired`, but HR records the first version 5-20 days later
    hires = order[:18]
    for i in hires:
        t = m.tsrs[i]
        t.hired = m.day(_event_offset(rng, 0.4))
        t.posts = [(t.hired, t.posts[0][1])]
    # moves to another territory (a few twice)
    movers = order[18:48]
    for n_move, i in enumerate(movers):
        t = m.tsrs[i]
        when = m.day(_event_offset(rng, 0.3))
        for _ in range(2 if n_move < 5 else 1):
            cur = t.posts[-1][1]
            region = terrs[cur].org[0][1][2]
            same = [j for j, x in enumerate(terrs) if x.org[0][1][2] == region and j != cur]
            pool = same if rng.random() < 0.7 else [j for j in range(len(terrs)) if j != cur]
            t.posts.append((when, rng.choice(pool)))
            when += rng.randint(40, 120)
    # two territories change hands (SO/ASM/region) mid-period
    for offset, ti in ((rng.randint(12, 30), rng.randrange(len(terrs))),
                       (rng.randint(150, 230), rng.randrange(len(terrs)))):  # fmt: skip
        cur = terrs[ti].org[0][1]
        other = rng.choice([x for x in terrs if x.org[0][1][2] != cur[2]])
        terrs[ti].org.append((m.day(offset), other.org[0][1]))
    # hierarchy rows
    hires_set = set(hires)
    wrong = set(movers[5:9])  # their move is first recorded with a wrong territory
    for i, t in enumerate(m.tsrs):
        points: list[tuple[int, str]] = []
        for j, (o, ti) in enumerate(t.posts):
            points.append((o, "initial" if j == 0 else "move"))
            nxt = t.posts[j + 1][0] if j + 1 < len(t.posts) else NEVER
            for ro, _ in terrs[ti].org[1:]:
                if o < ro < nxt:
                    points.append((ro, "reorg"))
        points.sort()
        for o, why in points:
            ti = _timeline_at(t.posts, o)
            ter = terrs[ti]
            org = _timeline_at(ter.org, o)
            values = (t.code, t.name, ter.code, ter.name, *org)
            if why == "initial" and i in hires_set:
                eff = o + rng.randint(5, 20)
                t.first_version = eff
                m.limbo.append((t.hired, eff, t.code))
                rec = eff + rng.randint(0, 3)
            elif why == "initial":
                eff, rec = o, PRE
            else:
                eff, rec = o, o + rng.randint(0, 12 if why == "move" else 5)
            if rec == PRE:
                updated = None if rng.random() < 0.15 else _at(rng, eff + rng.randint(0, 5), 9, 19)
            else:
                updated = _at(rng, rec, 17, 23)
            if why == "move" and i in wrong:
                bad = rng.choice([x for x in terrs if x.code != ter.code])
                bad_values = (t.code, t.name, bad.code, bad.name, *_timeline_at(bad.org, o))
                fixed = rec + rng.randint(10, 40)
                kind = sorted(wrong).index(i)
                # 0, 1: the wrong row stays in later drops with its older updated_at;
                # 2: it stays with a null updated_at; 3: it is replaced
                stale_upd = None if kind == 2 else updated
                m.hierarchy.append(
                    HierRow(bad_values, eff, stale_upd, rec, NEVER if kind < 3 else fixed)
                )
                m.hierarchy.append(HierRow(values, eff, _at(rng, fixed, 17, 23), fixed))
            else:
                m.hierarchy.append(HierRow(values, eff, updated, rec))


def _mrp_paise(rng: random.Random, per_unit: float, size: float, uom: str) -> int:
    """MRP of a pack in paise: per-unit price (per g/ml for G and ML packs) with a small-pack
    premium, rounded like Indian MRPs."""
    if uom in ("G", "ML"):
        premium = (1000 / max(size, 1)) ** 0.12
    else:
        premium = (1 / size) ** 0.1 if size < 20 else 0.97
    rupees = per_unit * size * premium * rng.uniform(0.95, 1.08)
    step = 1 if rupees < 20 else 5
    return max(5, int(round(rupees / step)) * step) * 100


def _qty_choices(size: float, uom: str) -> tuple[tuple[float, ...], int]:
    """Typical retail order quantities (pieces) and pieces per case for a pack."""
    grams = size * (1000 if uom in ("KG", "L") else 1) if uom != "PC" else 500
    if grams <= 20:
        return (6.0, 12.0, 12.0, 24.0, 24.0, 48.0, 72.0, 144.0), 144
    if grams <= 300:
        return (2.0, 3.0, 6.0, 6.0, 12.0, 12.0, 24.0), 48
    if grams <= 1000:
        return (1.0, 2.0, 2.0, 3.0, 4.0, 6.0, 12.0), 24
    if grams <= 5000:
        return (1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 6.0), 4
    return (1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0), 1


def _build_materials(m: Master) -> None:
    rng = _rng(m.seed, "master", "material")
    n = 0
    base: list[Material] = []
    weights: list[float] = []
    for brand, cat, sub, products, packs, per_unit, weight in CATALOGUE:
        shades = SHADED.get(sub, ("",))
        for product in products:
            for shade in shades:
                for size, uom in packs:
                    n += 1
                    size_txt = f"{size:g}{uom}"
                    desc = " ".join(x for x in (brand, product, sub, shade, size_txt) if x)
                    mrp = _mrp_paise(rng, per_unit, float(size), uom)
                    qty, case = _qty_choices(float(size), uom)
                    mat = Material(
                        code=f"MAT{100000 + n * 7:06d}",
                        desc=desc,
                        brand=[(PRE, brand)],
                        category=cat,
                        sub_category=sub,
                        pack_size=float(size),
                        uom=uom,
                        mrp=[(PRE, mrp)],
                        active=[(PRE, True)],
                        published=PRE,
                        created=_at(rng, m.start - rng.randint(60, 2000), 9, 18),
                        qty_choices=qty,
                        case_units=case,
                        ptr=int(mrp * 0.78 / (1 + GST)),
                        dp=int(mrp * 0.68 / (1 + GST)),
                    )
                    base.append(mat)
                    mid = len(packs) // 2
                    pack_w = 1.0 / (1 + abs(packs.index((size, uom)) - mid))
                    weights.append(weight * pack_w * rng.lognormvariate(0, 0.6) / len(shades))
    for mat in base:
        m.materials[mat.code] = mat

    def clone(src: Material, published: int, active_from: int) -> Material:
        """A new code for the same product, in the master from `published` (a real date)."""
        nonlocal n
        n += 1
        mat = Material(
            **{**src.__dict__, "code": f"MAT{100000 + n * 7:06d}", "published": published,
               "active": [(PRE, False), (active_from, True)],
               "created": _at(rng, published, 10, 12)},
        )  # fmt: skip
        m.materials[mat.code] = mat
        return mat

    order = list(range(len(base)))
    rng.shuffle(order)
    pick = iter(order)
    used: set[int] = set()

    def take() -> int:
        i = next(pick)
        used.add(i)
        return i

    def family(codes: list[tuple[int, str]], i: int, **kw: int) -> None:
        m.families.append(Family(codes, weights[i] * 3, base[i].brand[0][1], **kw))

    def deactivate(code: str, when: int) -> None:
        mat = m.materials[code]
        mat.active = [(o, a) for o, a in mat.active if o < when] + [(when, False)]

    def chain(i: int, effs: list[int], lead_max: int = 14) -> list[str]:
        """A product whose code is replaced at each date in effs (A -> B -> C ...)."""
        codes = [(PRE, base[i].code)]
        prev = base[i]
        for eff in effs:
            pub = eff - rng.randint(0, lead_max)
            new = clone(prev, pub, eff)
            m.code_map.append(MapRow(prev.code, new.code, eff, pub))
            deactivate(prev.code, eff)
            codes.append((eff, new.code))
            prev = new
        family(codes, i)
        return [c for _, c in codes]

    # simple remaps A -> B (some effective before the window: old codes linger in the facts)
    for _ in range(5):
        chain(take(), [m.start - rng.randint(20, 200)])
    for _ in range(12):
        chain(take(), [m.day(_event_offset(rng, 0.3))])
    # multi-hop chains A -> B -> C (-> D), hops in the middle of the period
    for early in (True, True, False, False):
        first = m.day(rng.randint(4, 14) if early else rng.randint(60, 200))
        hops = [first, first + (rng.randint(8, 18) if early else rng.randint(40, 150))]
        if not early:
            hops.append(hops[-1] + rng.randint(20, 40))
        chain(take(), hops)
    # a chain of 11 hops: L0 (11 hops) is unmapped, L1 (10 hops) still resolves
    chain(take(), [m.day(2 + 2 * k) for k in range(11)], lead_max=1)
    # cycles X -> Y -> X: a remap that was reverted
    cycles: list[str] = []
    for t1, t2 in ((rng.randint(5, 12), rng.randint(18, 30)),
                   (rng.randint(100, 160), rng.randint(200, 260))):  # fmt: skip
        i = take()
        x = base[i]
        y = clone(x, m.day(t1) - 3, m.day(t1))
        m.code_map.append(MapRow(x.code, y.code, m.day(t1), m.day(t1) - 3))
        m.code_map.append(MapRow(y.code, x.code, m.day(t2), m.day(t2) - 2))
        x.active = [(PRE, True), (m.day(t1), False), (m.day(t2), True)]
        y.active = [(PRE, False), (m.day(t1), True), (m.day(t2), False)]
        family([(PRE, x.code), (m.day(t1), y.code), (m.day(t2), x.code)], i)
        cycles.append(x.code)
    # a chain that runs into a cycle: M -> X; facts keep sending M
    i = take()
    t = m.day(rng.randint(20, 34))
    m.code_map.append(MapRow(base[i].code, cycles[0], t, t - 5))
    deactivate(base[i].code, t)
    family([(PRE, base[i].code)], i)
    # one old code, two mappings: D -> E from t1, D -> F from t2
    for t1, t2 in ((rng.randint(6, 14), rng.randint(20, 32)),
                   (rng.randint(90, 150), rng.randint(220, 300))):  # fmt: skip
        i = take()
        d0 = base[i]
        e = clone(d0, m.day(t1) - 4, m.day(t1))
        f = clone(d0, m.day(t2) - 4, m.day(t2))
        m.code_map.append(MapRow(d0.code, e.code, m.day(t1), m.day(t1) - 4))
        m.code_map.append(MapRow(d0.code, f.code, m.day(t2), m.day(t2) - 4))
        deactivate(d0.code, m.day(t1))
        e.active = [(PRE, False), (m.day(t1), True), (m.day(t2), False)]
        family([(PRE, d0.code), (m.day(t1), e.code), (m.day(t2), f.code)], i)
    # a mapping to a code the master does not know (the new material was never created)
    i = take()
    t = m.day(rng.randint(15, 30))
    m.code_map.append(MapRow(base[i].code, "MAT999001", t, t - 7))
    family([(PRE, base[i].code)], i)
    # a mapping that was published and later withdrawn (only old drops have it)
    for lo in (5, 120):
        i = take()
        pub = m.day(rng.randint(lo, lo + 5))
        target = base[next(j for j in order if j not in used and base[j].brand == base[i].brand)]
        m.code_map.append(
            MapRow(base[i].code, target.code, pub + 2, pub, pub + rng.randint(10, 30))
        )
        family([(PRE, base[i].code)], i)
    # a mapping dated after the end of a default window (announced in advance)
    i = take()
    t = m.day(rng.randint(405, 430))
    late = clone(base[i], t - 30, t)
    m.code_map.append(MapRow(base[i].code, late.code, t, t - 30))
    family([(PRE, base[i].code), (t, late.code)], i)
    # regular products: launches and discontinuations
    for i in order:
        if i in used:
            continue
        mat = base[i]
        r = rng.random()
        if r < 0.05:
            launch = m.day(_event_offset(rng, 0.25))
            mat.published = launch - rng.randint(0, 10)
            mat.active = [(PRE, False), (launch, True)]
            family([(PRE, mat.code)], i, sold_from=launch)
        elif r < 0.09:
            stop = m.day(_event_offset(rng, 0.25))
            deactivate(mat.code, stop)
            family([(PRE, mat.code)], i, sold_to=stop + rng.randint(0, 20))
        else:
            family([(PRE, mat.code)], i)
    # an epoxy line moves from FIXFAST to BONDMAX; COLORKING raises prices by 5 %
    rebrand = m.day(rng.randint(20, 34))
    price_rise = m.day(rng.randint(150, 170))
    for mat in m.materials.values():
        if mat.sub_category == "EPOXY" and mat.desc.split()[1] in ("STEEL", "KWIK"):
            mat.brand = [(PRE, "FIXFAST"), (rebrand, "BONDMAX")]
        if mat.brand[0][1] == "COLORKING":
            mat.mrp = [(PRE, mat.mrp[0][1]), (price_rise, round(mat.mrp[0][1] * 1.05 / 500) * 500)]
    # messy map rows: null keys and codes (ignored), an exact duplicate, and one key sent twice
    # with different targets (no updated_at: the later row wins, and it is the right one)
    d1 = m.day(1)
    a, b = base[order[-1]].code, base[order[-2]].code
    first = m.code_map[0]
    dup = m.code_map[5]
    m.code_map.insert(5, MapRow(dup.old, b, dup.effective, dup.visible_from, dup.visible_to))
    m.code_map += [
        MapRow(None, b, d1),
        MapRow(a, b, None),
        MapRow("", b, d1),
        MapRow(a, "", d1 + 3),
        MapRow(first.old, first.new, first.effective, first.visible_from, first.visible_to),
    ]
    m.unknown_materials = [f"MAT9{rng.randrange(10_000, 99_999)}" for _ in range(20)]
    for month in range(1, 13):
        cum, total = [], 0.0
        for fam in m.families:
            total += fam.weight * BRAND_SEASON.get(fam.brand, (1.0,) * 12)[month - 1]
            cum.append(total)
        m.family_cum[month] = cum


def _build_customers(m: Master) -> None:
    rng = _rng(m.seed, "master", "customer")
    terrs = m.territories
    n_dist = max(MIN_DISTRIBUTORS, round(N_DISTRIBUTORS * m.scale))
    n_ret = max(MIN_RETAILERS, round(N_RETAILERS * m.scale))

    memo: dict[tuple[int, int], list[Tsr]] = {}

    def tsrs_in(ti: int, o: int, exclude: str | None = None) -> list[Tsr]:
        """TSRs posted to a territory on a date (hired by then)."""
        if (ti, o) not in memo:
            memo[(ti, o)] = [
                t for t in m.tsrs if t.posts[0][0] <= o and _timeline_at(t.posts, o) == ti
            ]
        return [t for t in memo[(ti, o)] if t.code != exclude]

    def pin(ti: int) -> str:
        return f"{terrs[ti].pin}{rng.randrange(1, 100):03d}"

    perm = list(range(len(terrs)))
    rng.shuffle(perm)
    for i in range(n_dist):
        ti = perm[i % len(terrs)]
        tsr = tsrs_in(ti, m.start)
        m.distributors.append(Customer(
            code=f"D{10001 + i}",
            name=f"{rng.choice(LAST_NAMES)} {rng.choice(DISTRIBUTOR_SUFFIXES)}, {terrs[ti].city}",
            kind="DISTRIBUTOR", distributor=None,
            tsr=[(PRE, tsr[0].code if tsr else m.tsrs[0].code)],
            territory=ti, pincode=pin(ti), channel="GENERAL_TRADE",
            onboard=PRE, deactivated=NEVER,
            created=_at(rng, m.start - rng.randint(100, 3000), 9, 18),
            weight=rng.paretovariate(2.0),
        ))  # fmt: skip
    # one distributor joins mid-period, one leaves
    m.distributors[-1].onboard = m.day(_event_offset(rng, 0.5))
    m.distributors[0].deactivated = m.day(_event_offset(rng, 0.5))
    dist_by_terr: dict[int, list[str]] = {}
    dist_by_region: dict[str, list[str]] = {}
    for d in m.distributors:
        dist_by_terr.setdefault(d.territory, []).append(d.code)
        dist_by_region.setdefault(terrs[d.territory].org[0][1][2], []).append(d.code)

    terr_w = [2.0 if t.city in BIG_CITIES else 1.0 for t in terrs]
    terr_cum = []
    total = 0.0
    for w in terr_w:
        total += w
        terr_cum.append(total)
    channels, channel_w = zip(*RETAIL_CHANNELS, strict=True)
    for i in range(n_ret):
        ti = bisect.bisect_right(terr_cum, rng.random() * total)
        r = rng.random()
        onboard, deact = PRE, NEVER
        if r < 0.08:
            onboard = m.day(_event_offset(rng, 0.3))
        elif r < 0.11:
            deact = m.day(_event_offset(rng, 0.3))
        elif r < 0.13:
            deact = m.start - rng.randint(10, 300)  # inactive throughout
        when = max(onboard, m.start)
        cands = tsrs_in(ti, when) or tsrs_in(ti, m.start + 400) or m.tsrs[:1]
        dists = (dist_by_terr.get(ti) or dist_by_region.get(terrs[ti].org[0][1][2])
                 or [d.code for d in m.distributors])  # fmt: skip
        m.retailers.append(Customer(
            code=f"R{100001 + i}",
            name=f"{rng.choice(SHOP_PREFIXES)} {rng.choice(SHOP_SUFFIXES)}",
            kind="RETAILER", distributor=rng.choice(dists),
            tsr=[(onboard, rng.choice(cands).code)],
            territory=ti, pincode=pin(ti),
            channel=rng.choices(channels, channel_w)[0],
            onboard=onboard, deactivated=deact,
            created=_at(rng, (onboard if onboard > PRE else m.start - rng.randint(30, 3000)), 9, 18),
            weight=min(rng.paretovariate(1.6), 40.0),
        ))  # fmt: skip
    # reassignments: TSR moves, new hires taking over outlets, a few random ones
    events: list[tuple[int, int, str, int]] = []
    for k, t in enumerate(m.tsrs):
        if t.hired > PRE:
            events.append((t.hired, 0, "hire", k))
        for o, _ in t.posts[1:]:
            events.append((o, 1, "move", k))
    for k in rng.sample(range(n_ret), max(3, n_ret // 50)):
        events.append((m.day(_event_offset(rng, 0.3)), 2, "reassign", k))
    events.sort()
    by_terr: dict[int, list[Customer]] = {}
    for r in m.retailers:
        by_terr.setdefault(r.territory, []).append(r)
    for o, _, what, k in events:
        if what == "reassign":
            r = m.retailers[k]
            if r.tsr[0][0] > o:
                continue
            cur = r.tsr[-1][1]
            cands = tsrs_in(r.territory, o, exclude=cur)
            if cands:
                r.tsr.append((o, rng.choice(cands).code))
            continue
        t = m.tsrs[k]
        ti_new = _timeline_at(t.posts, o)
        colleagues = tsrs_in(ti_new, o, exclude=t.code)
        eligible = [
            r for r in by_terr.get(ti_new, []) if r.tsr[0][0] <= o and r.tsr[-1][1] != t.code
        ]
        taken = [r for r in eligible if rng.random() < 1 / (len(colleagues) + 1)]
        if what == "hire" and eligible and not taken:
            taken = [rng.choice(eligible)]  # a new hire always takes over some outlets
        for r in taken:
            r.tsr.append((o, t.code))
        if what == "hire":
            m.limbo_retailers[t.code] = taken
        if what == "move":
            ti_old = _timeline_at(t.posts, o - 1)
            stay = tsrs_in(ti_old, o, exclude=t.code)
            for r in by_terr.get(ti_old, []):
                if stay and r.tsr[0][0] <= o and r.tsr[-1][1] == t.code:
                    r.tsr.append((o + rng.randint(0, 3), rng.choice(stay).code))
    for i in range(max(5, round(60 * m.scale))):
        ti = rng.randrange(len(terrs))
        cands = tsrs_in(ti, m.start) or m.tsrs[:1]
        m.unknown_retailers.append(Customer(
            code=f"R9{rng.randrange(10_000, 99_999)}{i % 10}", name="", kind="RETAILER",
            distributor=rng.choice(m.distributors).code, tsr=[(PRE, rng.choice(cands).code)],
            territory=ti, pincode="", channel="", onboard=PRE, deactivated=NEVER, created=0,
            weight=1.0,
        ))  # fmt: skip
    m.unknown_distributors = [f"D9{rng.randrange(1000, 9999)}" for _ in range(4)]
    total = 0.0
    for r in m.retailers:
        total += r.weight
        m.retailer_cum.append(total)
    total = 0.0
    for d in m.distributors:
        total += d.weight
        m.distributor_cum.append(total)


def _build_access(m: Master) -> None:
    rng = _rng(m.seed, "master", "access")
    seen: set[str] = set()

    def email() -> str:
        while True:
            e = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}@vajra-adhesives.example".lower()
            if e not in seen:
                seen.add(e)
                return e

    on = [(PRE, True)]
    rows = m.access
    for _ in range(3):
        rows.append(AccessRow(email(), "NATIONAL", None, on))
    rows.append(AccessRow("bi.service@vajra-adhesives.example", "NATIONAL", "", on))
    for zone, regions in GEOGRAPHY:
        rows.append(AccessRow(email(), "ZONE", zone, on))
        for region, _ in regions:
            rows.append(AccessRow(email(), "REGION", region, on))
    by_so: dict[str, list[str]] = {}
    for t in m.territories:
        by_so.setdefault(t.org[0][1][0], []).append(t.code)
    for terr_codes in by_so.values():
        e = email()
        for code in terr_codes:
            rows.append(AccessRow(e, "TERRITORY", code, on))
    # values that match nothing, inactive rows, a user deactivated since, one removed,
    # one whose territories changed, a duplicate key whose later row deactivates it
    rows.append(AccessRow(email(), "TERRITORY", "T999", on))
    rows.append(AccessRow(email(), "REGION", "X9", on))
    for _ in range(3):
        rows.append(AccessRow(email(), "TERRITORY", rng.choice(m.territories).code, [(PRE, False)]))
    for early in (True, False):
        when = m.day(rng.randint(5, 30) if early else rng.randint(100, 300))
        rows.append(
            AccessRow(
                email(), "REGION", rng.choice(["N1", "W2", "S3"]), [(PRE, True), (when, False)]
            )
        )
        removed = m.day(rng.randint(8, 33) if early else rng.randint(120, 320))
        rows.append(AccessRow(email(), "ZONE", rng.choice(["EAST", "SOUTH"]), on, PRE, removed))
    e = email()
    changed = m.day(rng.randint(10, 30))
    a, b, c = rng.sample(m.territories, 3)
    rows.append(AccessRow(e, "TERRITORY", a.code, on, PRE, changed))
    rows.append(AccessRow(e, "TERRITORY", b.code, on))
    rows.append(AccessRow(e, "TERRITORY", c.code, on, changed))
    rows.append(AccessRow(None, "ZONE", "NORTH", on))


def build_master(seed: int, start: date, scale: float) -> Master:
    """Master data and its changes over time, from the seed and the first day alone."""
    m = Master(seed=seed, start=start.toordinal(), scale=scale)
    _build_geography(m)
    _build_tsrs(m)
    _build_materials(m)
    _build_customers(m)
    _build_access(m)
    return m


# ----------------------------------------------------------------------------------------------
# facts


def _pick_family(m: Master, rng: random.Random, o: int, cum: list[float]) -> Family:
    total = cum[-1]
    for _ in range(20):
        fam = m.families[bisect.bisect_right(cum, rng.random() * total)]
        if fam.sold_from <= o < fam.sold_to:
            return fam
    return fam


def _material_code(m: Master, rng: random.Random, fam: Family, o: int) -> str:
    """The code a distributor's system sends: mostly the current one, sometimes an older one."""
    codes = fam.codes
    if len(codes) == 1:
        return codes[0][1]
    live = [c for s, c in codes if s <= o]
    if len(live) > 1 and rng.random() < 0.15:
        return rng.choice(live[:-1])
    return live[-1]


def _pick_retailer(m: Master, rng: random.Random, o: int) -> Customer:
    cum = m.retailer_cum
    total = cum[-1]
    for _ in range(30):
        r = m.retailers[bisect.bisect_right(cum, rng.random() * total)]
        if r.onboard > o:
            continue
        if r.deactivated <= o and rng.random() > 0.03:  # inactive outlets are rarely billed
            continue
        return r
    return r


def _amounts(qty: float, price: int, disc_rate: float) -> tuple[int, int, int, int]:
    gross = round(qty * price)
    disc = round(gross * disc_rate)
    tax = round((gross - disc) * GST)
    return gross, disc, tax, gross - disc + tax


DISCOUNTS = (0.0, 0.0, 0.02, 0.03, 0.05, 0.08)
CRN_LINES = (1, 1, 2, 3, 4)


def _invoices(
    m: Master, rng: random.Random, o: int, n_invoices: int, seq: int, upd_day: int,
    hours: tuple[float, float], rows: list[tuple],
) -> None:  # fmt: skip
    """Append n_invoices invoices (INV lines) for date o, and credit notes (CRN lines, ~3 % of
    all lines) against some of their outlets. The hot loop of the generator: it draws with
    rng.random() directly, which is several times cheaper than choice() and randrange()."""
    d = date.fromordinal(o)
    prefix = f"{d.year}{d.timetuple().tm_yday:03d}"
    cum = m.family_cum[d.month]
    total = cum[-1]
    families = m.families
    materials = m.materials
    rand = rng.random
    bisect_right = bisect.bisect_right
    day = o - EPOCH
    crn_seq = seq
    n_per = len(LINES_PER_INVOICE)

    def line_material() -> tuple[str, Material | None]:
        fam = families[bisect_right(cum, rand() * total)]
        if not fam.sold_from <= o < fam.sold_to:
            fam = _pick_family(m, rng, o, cum)
        code = fam.codes[0][1] if len(fam.codes) == 1 else _material_code(m, rng, fam, o)
        return code, materials.get(code)

    for _ in range(n_invoices):
        seq += 1
        if rand() < 0.004:
            r = m.unknown_retailers[int(rand() * len(m.unknown_retailers))]
        else:
            r = _pick_retailer(m, rng, o)
        tsr = r.tsr[0][1] if len(r.tsr) == 1 else _timeline_at(r.tsr, o)
        dist, ret = r.distributor, r.code
        disc = DISCOUNTS[int(rand() * 6)]
        upd = _at(rng, upd_day, *hours)
        inv = f"INV{prefix}{seq:05d}"
        for line in range(1, LINES_PER_INVOICE[int(rand() * n_per)] + 1):
            if rand() < 0.002:
                code, mat = m.unknown_materials[int(rand() * len(m.unknown_materials))], None
            else:
                code, mat = line_material()
            if mat:
                qc = mat.qty_choices
                qty, price = qc[int(rand() * len(qc))], mat.ptr
            else:
                qty, price = float(1 + int(rand() * 12)), 5_000 + int(rand() * 85_000)
            g = round(qty * price)
            dc = round(g * disc)
            t = round((g - dc) * GST)
            rows.append(
                (inv, line, day, "INV", dist, ret, code, tsr, qty, g, dc, t, g - dc + t, upd)
            )
        if rand() < 0.065:  # a credit note (return) against this outlet: ~3 % of lines
            crn_seq += 1
            crn = f"CRN{prefix}{crn_seq:05d}"
            cupd = _at(rng, upd_day, *hours)
            for line in range(1, CRN_LINES[int(rand() * 5)] + 1):
                code, mat = line_material()
                qty = mat.qty_choices[0] if mat else 1.0
                g, dc, t, net = _amounts(qty, mat.ptr if mat else 10_000, disc)
                rows.append((crn, line, day, "CRN", dist, ret, code, tsr, qty, g, dc, t, net, cupd))


def _requantify(row: tuple, qty: float, upd: int, fid: bool = False) -> tuple:
    old = row[6] if fid else row[8]
    if fid:
        value = round(row[7] * qty / old) if old else row[7]
        return (*row[:6], qty, value, upd)
    g0, d0 = row[9], row[10]
    g = round(g0 * qty / old) if old else g0
    dc = round(g * d0 / g0) if g0 else 0
    t = round((g - dc) * GST)
    return (*row[:8], qty, g, dc, t, g - dc + t, upd)


def _mess_row(
    rng: random.Random,
    row: tuple,
    code_cols: tuple[int, ...],
    empty_cols: tuple[int, ...],
    r: float,
) -> tuple:
    """Given a draw r, mess up one code (2.5 % of rows) or empty one (0.25 %)."""
    if r < 0.025:
        i = rng.choice(code_cols)
        if row[i]:
            row = (*row[:i], _messy(rng, row[i]), *row[i + 1 :])
    elif r < 0.0275:
        i = rng.choice(empty_cols)
        row = (*row[:i], rng.choice(("", "", "  ")), *row[i + 1 :])
    return row


FIS_REJECTS = ("null_invoice_no", "null_invoice_date", "null_invoice_line", "doc_type_xyz",
               "null_doc_type", "empty_doc_type", "resend_bad_doc_type", "resend_null_date")  # fmt: skip


def _fis_reject(rng: random.Random, kind: str, row: tuple) -> tuple:
    if kind == "null_invoice_no":
        return (None, *row[1:])
    if kind in ("null_invoice_date", "resend_null_date"):
        return (*row[:2], None, *row[3:])
    if kind == "null_invoice_line":
        return (row[0], None, *row[2:])
    doc = {"doc_type_xyz": "XYZ", "null_doc_type": None, "empty_doc_type": " "}.get(
        kind, rng.choice(("XYZ", "DBN", "PRO"))
    )
    return (*row[:3], doc, *row[4:])


def _fis_day(m: Master, o: int, cache: dict[int, list[tuple]]) -> list[list[tuple]]:
    """The morning drop of day o: part-001 (and some days part-002) rows.

    Frequencies are rates of the day's volume; the rarer kinds are also forced on a calendar
    rotation, so that even a small, short sample holds every kind a few times."""
    d = date.fromordinal(o)
    rng = _rng(m.seed, d.isoformat(), "fis")
    per_invoice = sum(LINES_PER_INVOICE) / len(LINES_PER_INVOICE)
    target = FIS_LINES_PER_DAY * m.scale * _volume_factor(d) * rng.uniform(0.85, 1.15)
    rows: list[tuple] = []
    _invoices(m, rng, o, max(1, _count(rng, target / per_invoice)), 0, o, (9, 21), rows)
    for k in (1, 2):  # late-arriving invoices of earlier days, never sent before
        if o - k >= m.start:
            _invoices(m, rng, o - k, _count(rng, target * 0.006 / per_invoice),
                      50_000 + 10_000 * k, o, (0.5, 7), rows)  # fmt: skip
    rand = rng.random
    rows = [
        r if (x := rand()) >= 0.0275 else _mess_row(rng, r, (0, 3, 4, 5, 6, 7), (4, 5, 6, 7), x)
        for r in rows
    ]
    new = len(rows)
    if _due(o, 4, 3):  # a material and an outlet the masters do not know
        i = rng.randrange(new)
        rows[i] = (*rows[i][:6], rng.choice(m.unknown_materials), *rows[i][7:])
    if _due(o, 4, 1):
        i, r = rng.randrange(new), rng.choice(m.unknown_retailers)
        rows[i] = (*rows[i][:4], r.distributor, r.code, rows[i][6], r.tsr[0][1], *rows[i][8:])
    if _due(o, 4, 2):  # an empty code (null after R1)
        i, c = rng.randrange(new), rng.choice((4, 5, 6, 7))
        rows[i] = (*rows[i][:c], rng.choice(("", "  ")), *rows[i][c + 1 :])
    if _due(o, 3, 1):  # a line booked by a new hire before the hierarchy knows them (R7)
        limbo = [code for hired, first, code in m.limbo if hired <= o < first]
        if limbo:
            code = rng.choice(limbo)
            i = rng.randrange(new)
            r = rng.choice(m.limbo_retailers.get(code) or [None])
            dist, ret = (r.distributor, r.code) if r else rows[i][4:6]
            rows[i] = (*rows[i][:4], dist, ret, rows[i][6], code, *rows[i][8:])
    # rejects (R2)
    kinds = [rng.choice(FIS_REJECTS[:6]) for _ in range(_count(rng, new * 0.002))]
    if _due(o, 2):
        kinds.append(FIS_REJECTS[(o // 2) % len(FIS_REJECTS)])
    for kind in kinds:
        if not kind.startswith("resend"):
            i = rng.randrange(new)
            rows[i] = _fis_reject(rng, kind, rows[i])
    # The day's own lines are final here and depend on nothing but (seed, day): a run can
    # start at any day after re-creating the three days before it. What follows draws from
    # the earlier days' lines.
    cache[o] = rows[:new]
    prev = [r for k in (1, 2, 3) for r in cache.get(o - k, [])]
    for kind in kinds:
        if kind.startswith("resend") and prev:
            src = rng.choice(prev)  # a valid line re-sent later, newer, but broken: must lose
            rows.append(_fis_reject(rng, kind, (*src[:13], _at(rng, o, 1, 7))))
    if prev:
        # corrections of earlier days: newer updated_at, another quantity
        for _ in range(_count(rng, len(prev) * 0.01)):
            src = rng.choice(prev)
            row = _requantify(src, max(1.0, src[8] - rng.choice((1, 2, 6))), _at(rng, o, 0.5, 7))
            if rng.random() < 0.1 and row[0]:
                row = (_messy(rng, row[0]), *row[1:])
            rows.append(row)
        # stale re-sends: an OLDER updated_at and other amounts, in a later file: must lose
        for _ in range(_count(rng, len(prev) * 0.002) + _due(o, 4)):
            src = rng.choice(prev)
            older = src[13] - rng.randint(3600, 48 * 3600) * 1_000_000
            rows.append(_requantify(src, src[8] * 2, older))
        # exact duplicates of earlier lines (same updated_at, in a later file)
        for _ in range(_count(rng, len(prev) * 0.003) + _due(o, 4, 2)):
            rows.append(rng.choice(prev))
    # same key, same updated_at, other content, later in the same file: the later row wins
    for _ in range(_count(rng, new * 0.0005) + _due(o, 6, 1)):
        src = rows[rng.randrange(new)]
        rows.append(_requantify(src, src[8] + 1, src[13]))
    parts = [rows]
    if rng.random() < 0.25 or _due(o, 6, 3):
        hour = 3600 * 1_000_000
        late = [  # same-day corrections, an hour or three later
            _requantify(src, src[8] + rng.choice((1, 2, 6)), src[13] + rng.randint(1, 3) * hour)
            for src in rng.sample(rows[:new], min(new, max(1, _count(rng, new * 0.01))))
        ]
        for _ in range(_count(rng, new * 0.001) + _due(o, 12, 3)):  # a tie: the later file wins
            src = rows[rng.randrange(new)]
            late.append(_requantify(src, src[8] + 12, src[13]))
        for _ in range(_count(rng, new * 0.002)):  # exact duplicates
            late.append(rows[rng.randrange(new)])
        parts.append(late)
    return parts


def _fid_day(m: Master, o: int, cache: dict[int, list[tuple]]) -> list[list[tuple]]:
    """The morning drop of day o for dispatches (plants work little on Sundays: at small scales
    a Sunday drop may hold no rows at all, a valid zero-row file)."""
    d = date.fromordinal(o)
    rng = _rng(m.seed, d.isoformat(), "fid")
    factor = _volume_factor(d) * (0.35 if d.weekday() == 6 else 1.0)
    target = FID_LINES_PER_DAY * m.scale * factor * rng.uniform(0.8, 1.2)
    per_delivery = sum(LINES_PER_DELIVERY) / len(LINES_PER_DELIVERY)
    prefix = f"{d.year}{d.timetuple().tm_yday:03d}"
    cum = m.family_cum[d.month]
    day = o - EPOCH
    rows: list[tuple] = []
    # at least one dispatch on working days, so small samples have fid rows most days
    n_deliveries = max(0 if d.weekday() == 6 else 1, _count(rng, target / per_delivery))
    seq = 0
    while seq < n_deliveries:
        if rng.random() < 0.01:
            dist = rng.choice(m.unknown_distributors)
            zone = rng.choice(PLANTS)[1]
        else:
            dc = m.distributors[
                bisect.bisect_right(m.distributor_cum, rng.random() * m.distributor_cum[-1])
            ]
            if dc.onboard > o or (dc.deactivated <= o and rng.random() > 0.05):
                continue
            dist = dc.code
            zone = m.territories[dc.territory].org[0][1][3]
        seq += 1
        plants = [p for p, z in PLANTS if z == zone]
        plant = rng.choice(plants) if plants and rng.random() < 0.85 else rng.choice(PLANTS)[0]
        upd = _at(rng, o, 6, 22)
        dn = f"DL{prefix}{seq:04d}"
        for line in range(1, rng.choice(LINES_PER_DELIVERY) + 1):
            if rng.random() < 0.002:
                code, mat = rng.choice(m.unknown_materials), None
            else:
                code = _material_code(m, rng, _pick_family(m, rng, o, cum), o)
                mat = m.materials.get(code)
            case = mat.case_units if mat else 12
            qty = float(case * rng.choice((1, 2, 2, 3, 4, 5, 8, 10, 20)))
            value = round(qty * (mat.dp if mat else 20_000))
            rows.append((dn, line * 10, day, plant, dist, code, qty, value, upd))
    rand = rng.random
    rows = [
        r if (x := rand()) >= 0.0275 else _mess_row(rng, r, (0, 3, 4, 5), (3, 4, 5), x)
        for r in rows
    ]
    new = len(rows)
    if new and _due(o, 5):  # a reject: null delivery_no, delivery_line or dispatch_date
        kind = (o // 5) % 3
        i = rng.randrange(new)
        r = rows[i]
        rows[i] = (
            (None, *r[1:])
            if kind == 0
            else (r[0], None, *r[2:])
            if kind == 1
            else (*r[:2], None, *r[3:])
        )
    if new and _due(o, 5, 2):  # a distributor the master does not know
        i = rng.randrange(new)
        rows[i] = (*rows[i][:4], rng.choice(m.unknown_distributors), *rows[i][5:])
    prev = [r for k in (1, 2, 3) for r in cache.get(o - k, [])]
    if prev:
        for _ in range(_count(rng, len(prev) * 0.01) + _due(o, 4)):  # corrections
            src = rng.choice(prev)
            rows.append(
                _requantify(src, max(1.0, src[6] - src[6] // 2), _at(rng, o, 0.5, 6), fid=True)
            )
        for _ in range(_count(rng, len(prev) * 0.002) + _due(o, 6, 1)):  # stale re-sends
            src = rng.choice(prev)
            rows.append(
                _requantify(
                    src, src[6] * 3, src[8] - rng.randint(3600, 86_400) * 1_000_000, fid=True
                )
            )
        for _ in range(_count(rng, len(prev) * 0.003) + _due(o, 8, 2)):  # exact duplicates
            rows.append(rng.choice(prev))
    parts = [rows]
    if new and (rng.random() < 0.1 or _due(o, 9, 3)):
        late = []
        for _ in range(max(1, _count(rng, new * 0.01))):
            src = rows[rng.randrange(new)]
            late.append(_requantify(src, src[6] + 1, src[8] + 7200 * 1_000_000, fid=True))
        parts.append(late)
    cache[o] = rows[:new]
    return parts


# ----------------------------------------------------------------------------------------------
# dimension snapshots


def _split(rng: random.Random, rows: list[tuple], always: bool = False) -> list[list[tuple]]:
    if len(rows) > 4 and (always or rng.random() < 0.5):
        cut = int(len(rows) * rng.uniform(0.4, 0.6))
        return [rows[:cut], rows[cut:]]
    return [rows]


def _material_snapshot(m: Master, s: int, rng: random.Random) -> list[list[tuple]]:
    rows = []
    for mat in m.materials.values():
        if mat.published > s:
            continue
        code = _messy(rng, mat.code) if rng.random() < 0.01 else mat.code
        rows.append((code, mat.desc, _timeline_at(mat.brand, s), mat.category, mat.sub_category,
                     mat.pack_size, mat.uom, _timeline_at(mat.mrp, s), _timeline_at(mat.active, s),
                     mat.updated_at(s)))  # fmt: skip
    parts = _split(rng, rows)
    # stale versions of a few materials, after the current ones: the newer updated_at wins
    stale = []
    for i, src in enumerate(rng.sample(rows, 3)):
        upd = None if i == 0 else src[9] - rng.randint(30, 300) * 86_400_000_000
        stale.append((src[0].strip().upper(), src[1] + " (OLD)", "OLDBRAND", *src[3:7],
                      src[7] * 95 // 100, not src[8], upd))  # fmt: skip
    stale.append((None, "BLANK ROW", "", "", "", 0.0, "", 0, False, None))
    stale.append(("", "EMPTY CODE", "", "", "", 0.0, "", 0, False, None))
    parts[-1] = parts[-1] + stale
    return parts


def _customer_snapshot(m: Master, s: int, rng: random.Random) -> list[list[tuple]]:
    rows = []
    for c in m.distributors + m.retailers:
        if c.onboard > s:
            continue
        ter = m.territories[c.territory]
        code, dist = c.code, c.distributor
        tsr = c.tsr[0][1] if len(c.tsr) == 1 else _timeline_at(c.tsr, s)
        kind = c.kind
        r = rng.random()
        if r < 0.01:
            code = _messy(rng, code)
        elif r < 0.015 and dist:
            dist = _messy(rng, dist)
        elif r < 0.02:
            tsr = _messy(rng, tsr)
        elif r < 0.022:
            kind = _messy(rng, kind)
        rows.append((code, c.name, kind, dist, tsr, ter.city, ter.state, c.pincode, c.channel,
                     c.deactivated > s, c.updated_at(s)))  # fmt: skip
    parts = _split(rng, rows, always=True)
    # duplicates: an older version of some customers in the other part (older or null updated_at)
    n_dup = max(3, len(rows) // 300)
    for k, i in enumerate(rng.sample(range(len(rows)), n_dup)):
        src = rows[i]
        part = 1 if i < len(parts[0]) else 0
        old_tsr = rng.choice(m.tsrs).code
        upd = None if k == 0 else src[10] - rng.randint(5, 90) * 86_400_000_000
        parts[part].append((src[0].strip().upper(), src[1], src[2], src[3], old_tsr, *src[5:9],
                            not src[9], upd))  # fmt: skip
    parts[rng.randrange(2)].append(
        (None, "UNKNOWN", "RETAILER", None, None, "", "", "", "", True, None)
    )
    parts[rng.randrange(2)].append(
        ("  ", "BLANK", "RETAILER", None, None, "", "", "", "", True, None)
    )
    return parts


def _hierarchy_snapshot(m: Master, s: int, rng: random.Random) -> list[list[tuple]]:
    rows = []
    for h in m.hierarchy:
        if not (h.visible_from <= s < h.visible_to):
            continue
        values = list(h.values)
        if rng.random() < 0.03:
            i = rng.choice((0, 2, 4, 5, 6, 7))
            values[i] = _messy(rng, values[i])
        eff = None if h.effective is None else h.effective - EPOCH
        rows.append((*values, eff, h.updated))
    first = m.hierarchy[0]
    rows.append((None, first.values[1], *first.values[2:], first.effective - EPOCH, None))
    rows.append((first.values[0], first.values[1], *first.values[2:], None, None))
    return _split(rng, rows)


def _map_snapshot(m: Master, s: int, rng: random.Random) -> list[list[tuple]]:
    rows = []
    for r in m.code_map:
        if not (r.visible_from <= s < r.visible_to):
            continue
        old, new = r.old, r.new
        if old and rng.random() < 0.08:
            old = _messy(rng, old)
        if new and rng.random() < 0.04:
            new = _messy(rng, new)
        rows.append((old, new, None if r.effective is None else r.effective - EPOCH))
    i = rng.choice([i for i, r in enumerate(rows) if r[0] and r[2] is not None])
    rows[i] = (" " + rows[i][0].strip().lower(), *rows[i][1:])  # at least one messy old code
    return [rows]


def _access_snapshot(m: Master, s: int, rng: random.Random) -> list[list[tuple]]:
    rows = []
    for a in m.access:
        if not (a.visible_from <= s < a.visible_to):
            continue
        email, level, value = a.email, a.level, a.value
        r = rng.random()
        if email and r < 0.05:
            email = rng.choice((" " + email, email.title(), email.upper() + " "))
        elif r < 0.09:
            level = _messy(rng, level)
        elif value and r < 0.13:
            value = _messy(rng, value)
        rows.append((email, level, value, _timeline_at(a.active, s)))
    parts = _split(rng, rows)
    # the same key again, later: it deactivates that access (later file / later row wins)
    src = next(r for r in rows if r[1] == "ZONE" and r[3])
    parts[-1].append((src[0], src[1], src[2], False))
    return parts


SNAPSHOTS = {
    "material_master": _material_snapshot,
    "material_code_map": _map_snapshot,
    "customer_master": _customer_snapshot,
    "tsr_hierarchy": _hierarchy_snapshot,
    "rls_user_access": _access_snapshot,
}


def drop_dates(start: date, end: date) -> list[date]:
    """Evening drop dates: the first day, every DIMENSION_EVERY_DAYS days, and the last day."""
    dates = []
    d = start
    while d <= end:
        dates.append(d)
        d += timedelta(days=DIMENSION_EVERY_DAYS)
    if dates[-1] != end:
        dates.append(end)
    return dates


# ----------------------------------------------------------------------------------------------
# writing


def _to_table(schema: pa.Schema, rows: list[tuple]) -> pa.Table:
    """Rows of plain values (dates as epoch days, timestamps as microseconds, decimals as
    hundredths) to a table of exactly the declared schema."""
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = []
    for f, col in zip(schema, cols, strict=True):
        t = f.type
        if pa.types.is_decimal(t):
            if t.bit_width != 128 or not 2 <= t.scale <= 18:
                raise ValueError(
                    f"{f.name}: cannot write {t} (hundredths need decimal128, scale >= 2)"
                )
            unit = 10 ** (t.scale - 2)
            if unit > 1:
                col = [None if v is None else v * unit for v in col]
            ints = pa.array(col, pa.int64()).cast(pa.decimal128(38, 0))
            # the same 128-bit integers, read with the declared scale: 12345 -> 123.45
            arr = pa.Array.from_buffers(t, n, ints.buffers(), null_count=ints.null_count)
        elif pa.types.is_date32(t):
            arr = pa.array(col, pa.int32()).cast(t)
        elif pa.types.is_timestamp(t):
            arr = pa.array(col, pa.int64()).cast(t)
        else:
            arr = pa.array(col, t)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)


def _row_group_size(n: int) -> int:
    """At most 50,000 rows, and several row groups in any file of more than ~200 rows, so
    that readers must count rows across row groups."""
    return max(64, min(50_000, -(-n // 3)))


@dataclass
class _Writer:
    out: Path
    summary: dict[str, dict[str, int]] = field(default_factory=dict)

    def _put(self, path: Path, data: bytes) -> bool:
        if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return True

    def parquet(
        self, dataset: str, schema: pa.Schema, d: date, name: str, rows: list[tuple]
    ) -> None:
        table = _to_table(schema, rows)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, row_group_size=_row_group_size(len(rows)), compression="snappy")
        written = self._put(
            self.out / dataset / f"dt={d.isoformat()}" / name, sink.getvalue().to_pybytes()
        )
        s = self.summary.setdefault(dataset, {"files": 0, "rows": 0, "written": 0, "unchanged": 0})
        s["files"] += 1
        s["rows"] += len(rows)
        s["written" if written else "unchanged"] += 1

    def junk(self, relpath: str, text: str = "") -> None:
        written = self._put(self.out / relpath, text.encode())
        s = self.summary.setdefault("_junk", {"files": 0, "rows": 0, "written": 0, "unchanged": 0})
        s["files"] += 1
        s["written" if written else "unchanged"] += 1


NOTES = """Extract notes (not data).
fis: one morning extract per day from the DMS; part-002 carries late corrections.
Lines may be re-sent in later files; the newest updated_at is the truth.
"""


_MASTERS: dict[tuple[int, date, float], Master] = {}


def _master(seed: int, start: date, scale: float) -> Master:
    """build_master, once per process (worker processes build their own)."""
    key = (seed, start, scale)
    if key not in _MASTERS:
        _MASTERS.clear()
        _MASTERS[key] = build_master(seed, start, scale)
    return _MASTERS[key]


def _facts_task(out: Path, seed: int, start: date, scale: float, lo: int, hi: int) -> dict:
    """Write the morning drops of days lo..hi-1 (ordinals), re-creating the three days before
    lo first, since a drop re-sends lines of the previous three days."""
    m = _master(seed, start, scale)
    datasets = load_datasets()
    w = _Writer(out)
    for name, fn in (("fis", _fis_day), ("fid", _fid_day)):
        cache: dict[int, list[tuple]] = {}
        for o in range(max(m.start, lo - 3), hi):
            parts = fn(m, o, cache)
            if o >= lo:
                d = date.fromordinal(o)
                for i, rows in enumerate(parts, start=1):
                    w.parquet(name, datasets[name].schema, d, f"part-{i:03d}.parquet", rows)
            cache.pop(o - 3, None)
    return w.summary


def _dimensions_task(out: Path, seed: int, start: date, scale: float, end: date) -> dict:
    """Write the evening snapshots of every drop date."""
    m = _master(seed, start, scale)
    datasets = load_datasets()
    w = _Writer(out)
    for d in drop_dates(start, end):
        for name, fn in SNAPSHOTS.items():
            rng = _rng(seed, d.isoformat(), name)
            for i, rows in enumerate(fn(m, d.toordinal(), rng), start=1):
                w.parquet(name, datasets[name].schema, d, f"part-{i:03d}.parquet", rows)
    return w.summary


def generate(
    out: Path,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    end: date = DEFAULT_END,
    scale: float = 1.0,
    *,
    jobs: int = 1,
) -> dict:
    """Write the sample landing data under `out` and return, per dataset, the number of files
    and rows it consists of and how many files were written or left unchanged.

    The key "_junk" counts the non-data files (markers, notes). `jobs` > 1 splits the days over
    that many processes: faster on an idle machine (about 1 s start-up per process), not on a
    busy one; the files do not depend on it."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if scale <= 0:
        raise ValueError("scale must be positive")
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    out = Path(out)
    start = end - timedelta(days=days - 1)
    first, last = start.toordinal(), end.toordinal() + 1
    if jobs == 1:
        try:
            summaries = [
                _facts_task(out, seed, start, scale, first, last),
                _dimensions_task(out, seed, start, scale, end),
            ]
        finally:
            _MASTERS.clear()  # do not keep the master data alive in the caller's process
    else:
        # the dimensions and a few day ranges of facts, in `jobs` fresh processes
        n = 2 * jobs
        bounds = [first + (last - first) * k // n for k in range(n + 1)]
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = [pool.submit(_dimensions_task, out, seed, start, scale, end)]
            futures += [
                pool.submit(_facts_task, out, seed, start, scale, lo, hi)
                for lo, hi in zip(bounds, bounds[1:], strict=False)
                if lo < hi
            ]
            summaries = [f.result() for f in futures]
    w = _Writer(out)
    for o in range(first, last):
        if _due(o, 5):
            w.junk(f"fis/dt={date.fromordinal(o).isoformat()}/_SUCCESS")
    for d in drop_dates(start, end):
        w.junk(f"customer_master/dt={d.isoformat()}/_SUCCESS")
        w.junk(f"material_master/dt={d.isoformat()}/_SUCCESS")
    w.junk("fis/notes.txt", NOTES)
    marker_only = start + timedelta(days=17)  # a dt= folder with a marker but no data: no drop
    if marker_only < end and marker_only not in drop_dates(start, end):
        w.junk(f"tsr_hierarchy/dt={marker_only.isoformat()}/_SUCCESS")
    total: dict[str, dict[str, int]] = {}
    for summary in [*summaries, w.summary]:
        for name, counts in summary.items():
            into = total.setdefault(name, dict.fromkeys(counts, 0))
            for k, v in counts.items():
                into[k] += v
    ordered = {name: total[name] for name in load_datasets() if name in total}
    ordered["_junk"] = total.get("_junk", {"files": 0, "rows": 0, "written": 0, "unchanged": 0})
    return ordered


# ----------------------------------------------------------------------------------------------
# command line


EPILOG = """\
what the data holds (domain.md section 5):
  R1  codes with stray spaces, tabs or lower case; empty codes
  R2  null invoice_no / invoice_line / invoice_date (delivery_* for fid); doc_type XYZ, blank,
      null; valid lines re-sent later with a newer updated_at but broken
  R3  corrections re-sent later (newer updated_at), stale re-sends (older updated_at), exact
      duplicates, same-updated_at ties across files and within a file; duplicate keys and null
      keys in dimension drops
  R4  A->B->C remaps effective mid-period, cycles X->Y->X, an 11-hop chain, one old code with
      two mappings, a mapping to an unknown code, a withdrawn mapping
  R5  materials, outlets and distributors unknown to the masters; inactive customers billed
  R6  ~3 % credit-note (CRN) lines, amounts non-negative in the files
  R7  TSR moves and territory re-orgs (several versions per TSR, some null updated_at); lines
      sold before a new TSR's first hierarchy version
  R9  NATIONAL/ZONE/REGION/TERRITORY access, values matching nothing, inactive and removed users
  older dimension drops differ from the latest; junk: _SUCCESS markers, fis/notes.txt, and a
  dt= folder holding only a marker
"""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loader.sample",
        description=(
            "Write deterministic sample landing data (all seven datasets of domain.md) as\n"
            "<out>/<dataset>/dt=<YYYY-MM-DD>/part-NNN.parquet. Facts get one morning drop a day;\n"
            "dimensions an evening snapshot on the first day, every 30 days and on the last day.\n"
            "Same arguments give byte-identical files; --days N+1 --end D+1 after --days N --end D\n"
            "adds only day D+1's files. Files whose bytes would not change are not rewritten."
        ),
        epilog=EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--out", type=Path, default=Path("data/landing"), help="landing root to write"
    )
    parser.add_argument(
        "--days", type=int, default=DEFAULT_DAYS, help="number of days, ending with --end"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=DEFAULT_END,
        help="last business date (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0,
        help="volume factor: 1.0 is ~1M fis lines and 20,000 retailers over 400 days; 0.01 for tests",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", type=int, default=1,
        help="processes to split the days over (faster on an idle machine); same files either way",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    if args.days < 1 or args.scale <= 0 or args.jobs < 1:
        parser.error("--days and --jobs must be >= 1 and --scale > 0")
    t0 = time.perf_counter()
    summary = generate(
        args.out, days=args.days, seed=args.seed, end=args.end, scale=args.scale, jobs=args.jobs
    )
    if not args.quiet:
        for name, s in summary.items():
            rows = "" if name == "_junk" else f"{s['rows']:>10,} rows"
            print(f"{name:<18} {s['files']:>5} files {rows:>16}   "
                  f"({s['written']} written, {s['unchanged']} unchanged)")  # fmt: skip
        start = args.end - timedelta(days=args.days - 1)
        print(f"{start} .. {args.end} -> {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
