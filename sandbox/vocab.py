"""Word lists the seeded jobs are drawn from.

Locations and salary styles deliberately cover every spelling SPEC section 5 promises to
normalize (US state codes, provinces, ISO codes in any case, aliases, the many ways of saying
remote, bare countries), so the sandbox exercises the transforms the way real data would.
"""

from __future__ import annotations

__all__ = [
    "COMPANIES",
    "DESCRIPTIONS",
    "JOB_TYPES",
    "JOB_TYPE_WEIGHTS",
    "LOCATIONS",
    "LOCATION_WEIGHTS",
    "SKILLS",
    "TITLES",
]

JOB_TYPES = ("full_time", "part_time", "contract")
JOB_TYPE_WEIGHTS = (0.78, 0.09, 0.13)

_SENIORITY = ("", "Senior ", "Staff ", "Junior ", "Lead ", "Principal ")
_ROLES = (
    "Data Engineer",
    "Analytics Engineer",
    "Data Scientist",
    "Machine Learning Engineer",
    "Backend Engineer",
    "Frontend Engineer",
    "Full Stack Developer",
    "Site Reliability Engineer",
    "DevOps Engineer",
    "Platform Engineer",
    "Security Engineer",
    "Product Manager",
    "Product Designer",
    "UX Researcher",
    "Engineering Manager",
    "QA Engineer",
    "Mobile Developer (iOS)",
    "Android Developer",
    "Database Administrator",
    "Solutions Architect",
    "Technical Writer",
    "Data Analyst",
    "BI Developer",
    "Cloud Engineer",
    "Embedded Software Engineer",
    "Customer Success Manager",
    "Sales Engineer",
    "Recruiter",
    "Marketing Analyst",
    "Support Engineer",
)
TITLES: tuple[str, ...] = tuple(f"{level}{role}" for role in _ROLES for level in _SENIORITY)

_COMPANY_STEMS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Pied Piper",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Gringotts",
    "Monarch",
    "Aperture",
    "Black Mesa",
    "Oscorp",
    "Nakatomi",
    "Massive Dynamic",
    "Blue Sun",
    "Dunder Mifflin",
    "Prestige",
    "Zenith",
)
_COMPANY_SUFFIXES = ("Labs", "Analytics", "Inc.", "GmbH", "Ltd", "Systems", "Cloud", "AI")
COMPANIES: tuple[str, ...] = tuple(
    f"{stem} {suffix}" for stem in _COMPANY_STEMS for suffix in _COMPANY_SUFFIXES
)

# (location text, relative weight)
_LOCATIONS: tuple[tuple[str, float], ...] = (
    ("San Francisco, CA", 6),
    ("New York, NY", 6),
    ("Austin, TX", 3),
    ("Seattle, WA", 3),
    ("Atlanta, GA", 2),
    ("Boston, MA", 2),
    ("Chicago, IL", 2),
    ("Denver, CO", 1.5),
    ("Portland, OR", 1),
    ("Atlanta, Georgia", 0.5),
    ("Los Angeles, California", 1),
    ("Toronto, Ontario, Canada", 2),
    ("Toronto, ON", 1),
    ("Vancouver, BC", 1),
    ("Montreal, QC, Canada", 1),
    ("Barcelona, ES", 1.5),
    ("Madrid, Spain", 1),
    ("London, UK", 4),
    ("Manchester, United Kingdom", 1),
    ("Berlin, Germany", 3),
    ("Munich, Bavaria, Germany", 1),
    ("berlin, germany", 0.5),
    ("Paris, France", 2),
    ("Amsterdam, Netherlands", 1.5),
    ("Dublin, Ireland", 1),
    ("lisbon, pt", 0.5),
    ("Zürich, Switzerland", 1),
    ("São Paulo, Brazil", 1),
    ("Bangalore, India", 2),
    ("Mumbai, India", 1),
    ("Tokyo, Japan", 1.5),
    ("Singapore", 1),
    ("Sydney, NSW, Australia", 1),
    ("Dubai, UAE", 1),
    ("New York, USA", 0.5),
    ("Remote", 6),
    ("remote", 1.5),
    ("Remote - US", 3),
    ("US (Remote)", 2),
    ("Remote (EU)", 1),
    ("Remote, Canada", 0.5),
    ("Hybrid - London, UK", 0.5),
    ("Germany", 1),
    ("Canada", 1),
    ("USA", 1),
    ("United States", 0.5),
    ("India", 0.5),
)
LOCATIONS: tuple[str, ...] = tuple(text for text, _ in _LOCATIONS)
LOCATION_WEIGHTS: tuple[float, ...] = tuple(weight for _, weight in _LOCATIONS)

SKILLS: tuple[str, ...] = (
    "Python",
    "SQL",
    "Go",
    "Rust",
    "Java",
    "Kotlin",
    "TypeScript",
    "React",
    "Kubernetes",
    "Terraform",
    "AWS",
    "GCP",
    "Azure",
    "Spark",
    "Kafka",
    "Airflow",
    "dbt",
    "DuckDB",
    "PostgreSQL",
    "Snowflake",
    "Polars",
    "PyTorch",
    "Docker",
    "Linux",
    "GraphQL",
    "Figma",
    "Swift",
    "C++",
    "Prometheus",
    "Tableau",
)

_OPENERS = (
    "Join a small team that ships every day.",
    "We are growing fast and need help scaling our platform.",
    "You will own critical systems end to end.",
    "Help us turn messy data into decisions.",
    "Work with product and engineering to build what customers love.",
    "Our mission is to make hiring fair and fast.",
    "Be part of a remote-first, async culture.",
    "We build tools used by millions of people.",
)
_DUTIES = (
    "You will design pipelines and keep them reliable.",
    "You will write clean, tested code and review others' work.",
    "You will mentor engineers and shape our technical roadmap.",
    "You will partner with analysts to define metrics.",
    "You will run experiments and measure their impact.",
    "You will be on call one week in eight.",
    "You will modernize a legacy stack without downtime.",
    "You will talk to customers and turn feedback into features.",
)
_PERKS = (
    "Competitive salary, equity and a learning budget.",
    "Flexible hours and four weeks of paid leave.",
    "Visa sponsorship available.",
    "Health, dental and vision from day one.",
    "Home office stipend and yearly team offsite.",
    "Parental leave of 20 weeks.",
)
DESCRIPTIONS: tuple[str, ...] = tuple(
    f"{opener} {duty} {perk}" for opener in _OPENERS for duty in _DUTIES for perk in _PERKS
)
