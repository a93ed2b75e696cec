"""The fixed geography and merchant categories of the simulated world.

Users live in a handful of countries, mostly the US; other cities only host merchants that
travellers and fraudsters use. Times of day are local, so each city carries its UTC offset
(daylight saving is ignored: a one-hour error does not matter for the patterns).
"""

from __future__ import annotations

import numpy as np

# name, country, lat, lon, UTC offset (hours), share of users living there
CITIES: tuple[tuple[str, str, float, float, int, float], ...] = (
    ("New York", "US", 40.713, -74.006, -5, 0.20),
    ("Los Angeles", "US", 34.052, -118.244, -8, 0.15),
    ("Chicago", "US", 41.878, -87.630, -6, 0.15),
    ("Houston", "US", 29.760, -95.370, -6, 0.12),
    ("Miami", "US", 25.762, -80.192, -5, 0.13),
    ("Toronto", "CA", 43.653, -79.383, -5, 0.05),
    ("Vancouver", "CA", 49.283, -123.121, -8, 0.03),
    ("London", "GB", 51.507, -0.128, 0, 0.06),
    ("Manchester", "GB", 53.481, -2.243, 0, 0.02),
    ("Berlin", "DE", 52.520, 13.405, 1, 0.03),
    ("Munich", "DE", 48.137, 11.576, 1, 0.02),
    ("Paris", "FR", 48.857, 2.352, 1, 0.03),
    ("Lyon", "FR", 45.764, 4.836, 1, 0.01),
    ("Madrid", "ES", 40.417, -3.704, 1, 0.0),
    ("Rome", "IT", 41.903, 12.496, 1, 0.0),
    ("Amsterdam", "NL", 52.368, 4.904, 1, 0.0),
    ("Mexico City", "MX", 19.433, -99.133, -6, 0.0),
    ("Tokyo", "JP", 35.690, 139.692, 9, 0.0),
    ("Bangkok", "TH", 13.756, 100.502, 7, 0.0),
    ("Sao Paulo", "BR", -23.551, -46.633, -3, 0.0),
    ("Lagos", "NG", 6.524, 3.379, 1, 0.0),
    ("Bucharest", "RO", 44.427, 26.103, 2, 0.0),
)
CITY_COUNTRY = np.array([c[1] for c in CITIES])
CITY_LAT = np.array([c[2] for c in CITIES])
CITY_LON = np.array([c[3] for c in CITIES])
CITY_UTC_OFFSET = np.array([c[4] for c in CITIES], dtype=np.int64)
CITY_HOME_SHARE = np.array([c[5] for c in CITIES])

# Countries where taken-over accounts are used from (none of them is a home country).
FRAUD_COUNTRIES = ("NG", "RO", "BR", "VN", "ID", "PH", "UA")

# name, median amount (USD), log-sd, weight among physical merchants, weight among online ones
CATEGORIES: tuple[tuple[str, float, float, float, float], ...] = (
    ("grocery", 42.0, 0.60, 0.24, 0.00),
    ("restaurant", 28.0, 0.55, 0.19, 0.00),
    ("fuel", 48.0, 0.35, 0.10, 0.00),
    ("pharmacy", 22.0, 0.70, 0.07, 0.00),
    ("clothing", 65.0, 0.70, 0.10, 0.10),
    ("entertainment", 30.0, 0.70, 0.07, 0.10),
    ("electronics", 220.0, 0.90, 0.05, 0.10),
    ("travel", 380.0, 0.80, 0.03, 0.10),
    ("jewelry", 320.0, 1.00, 0.02, 0.05),
    ("cash_withdrawal", 100.0, 0.60, 0.13, 0.00),
    ("online_retail", 55.0, 0.85, 0.00, 0.30),
    ("digital_goods", 11.0, 0.80, 0.00, 0.25),
)
CATEGORY_NAMES = np.array([c[0] for c in CATEGORIES])
CATEGORY_MEDIAN = np.array([c[1] for c in CATEGORIES])
CATEGORY_SIGMA = np.array([c[2] for c in CATEGORIES])
PHYSICAL_CATEGORY_WEIGHT = np.array([c[3] for c in CATEGORIES])
ONLINE_CATEGORY_WEIGHT = np.array([c[4] for c in CATEGORIES])
CASH = int(np.flatnonzero(CATEGORY_NAMES == "cash_withdrawal")[0])
DIGITAL_GOODS = int(np.flatnonzero(CATEGORY_NAMES == "digital_goods")[0])

CHANNELS = ("pos", "online", "atm")
POS, ONLINE, ATM = 0, 1, 2

# Every country a row can carry: cities' countries first, then fraud-only ones.
COUNTRIES = tuple(dict.fromkeys([*CITY_COUNTRY.tolist(), *FRAUD_COUNTRIES]))
CITY_COUNTRY_INDEX = np.array([COUNTRIES.index(c) for c in CITY_COUNTRY], dtype=np.int16)
FRAUD_COUNTRY_INDEX = np.array([COUNTRIES.index(c) for c in FRAUD_COUNTRIES], dtype=np.int16)

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray):
    """Great-circle distance in km, element-wise (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
