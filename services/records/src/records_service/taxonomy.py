"""The shared crime taxonomy: one internal list of offence categories with NIBRS codes.

Importers map a source's own categories onto these slugs and keep the source's code beside them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CrimeCategory:
    """One offence category: a stable slug, a label for people, and its NIBRS codes if any."""

    slug: str
    label: str
    nibrs_codes: tuple[str, ...] = ()
    # Victims of these offences are withheld from analysts (DESIGN.md "masked").
    sensitive: bool = False

    @property
    def nibrs_code(self) -> str | None:
        """The primary NIBRS offence code, or None where NIBRS has no equivalent."""
        return self.nibrs_codes[0] if self.nibrs_codes else None


CATEGORIES: tuple[CrimeCategory, ...] = (
    CrimeCategory("assault", "Assault", ("13A", "13B", "13C")),
    CrimeCategory("robbery", "Robbery", ("120",)),
    CrimeCategory("burglary", "Burglary / break and enter", ("220",)),
    CrimeCategory("theft", "Theft", ("23H", "23A", "23B", "23C", "23D", "23E", "23G")),
    CrimeCategory("vehicle_theft", "Vehicle theft", ("240",)),
    CrimeCategory("theft_from_vehicle", "Theft from vehicle", ("23F", "23G")),
    CrimeCategory("criminal_damage", "Criminal damage / vandalism", ("290",)),
    CrimeCategory("drugs", "Drug offences", ("35A", "35B")),
    CrimeCategory("weapons", "Weapons offences", ("520",)),
    CrimeCategory(
        "sexual_offence",
        "Sexual offence",
        ("11A", "11B", "11C", "11D", "36A", "36B"),
        sensitive=True,
    ),
    CrimeCategory("homicide", "Homicide", ("09A", "09B"), sensitive=True),
    CrimeCategory("fraud", "Fraud", ("26A", "26B", "26C", "26D", "26E", "26F", "26G", "26H")),
    CrimeCategory("public_order", "Public order", ("90C",)),
    CrimeCategory("other", "Other", ()),
)

BY_SLUG: dict[str, CrimeCategory] = {category.slug: category for category in CATEGORIES}
SLUGS: tuple[str, ...] = tuple(BY_SLUG)
SENSITIVE_SLUGS: frozenset[str] = frozenset(c.slug for c in CATEGORIES if c.sensitive)

# Toronto Police Service "Major Crime Indicators" (MCI) onto the taxonomy.
TORONTO_MCI: dict[str, str] = {
    "Assault": "assault",
    "Break and Enter": "burglary",
    "Auto Theft": "vehicle_theft",
    "Robbery": "robbery",
    "Theft Over": "theft",
}


def is_category(slug: str) -> bool:
    """True when `slug` is one of the taxonomy's categories."""
    return slug in BY_SLUG


def category(slug: str) -> CrimeCategory:
    """The category of `slug` (KeyError when it is not in the taxonomy)."""
    return BY_SLUG[slug]


def is_sensitive(slug: str) -> bool:
    """Offences whose victims' identities are withheld from analysts."""
    return slug in SENSITIVE_SLUGS
