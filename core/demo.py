"""Demo files shaped like the operation's real export (see DOMAIN.md), deterministic per seed.

`python -m core demo --out DIR --rows N` writes DIR/bd_desafio.csv (services, `;`, header) and
DIR/customers_data.csv (customers, `;`, no header): 70 polos `UF - CITY`, 26 Green Angels per polo,
deadlines that are never national holidays, visits mostly ISO timestamps and the other forms the real
file has, `-` for a visit that never happened, ~0.55 customers per service. Most visits are on time,
some late, a few never happen, so the charts look real.

Where the deadlines fall (DemoDates): by default a live day (`live(today)`): the 339 days of deadlines
end DAYS_AHEAD days after today, no visit is dated after today and today's visits are done only in the
morning, so a fresh install opens on a real "Today". HISTORICAL is the real export's range
(2021-06-30..2022-06-03, every visit done): the benchmarks and the tests that use fixed periods such as
March 2022 ask for it, and for a seed it writes the same bytes as before the live day existed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays

SERVICES_FILE = "bd_desafio.csv"
CUSTOMERS_FILE = "customers_data.csv"
SERVICES_HEADER = "id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento"


@dataclass(frozen=True)
class DemoDates:
    """The first and last deadline of the demo data, and the day its visits stop (None: every visit
    happened); deterministic: the same dates and seed write the same bytes."""
    first: date
    last: date
    today: date | None = None


HISTORICAL = DemoDates(date(2021, 6, 30), date(2022, 6, 3))  # the real export's deadlines, every visit done
DAYS_AHEAD = 4          # a live demo's last deadline is this many days after today
MORNING_ENDS = 12       # of today's visits, those before this hour are done


def live(today: date) -> DemoDates:
    """The historical span of deadlines moved to end DAYS_AHEAD days after `today`; visits after today
    not done yet, today's done only in the morning."""
    last = today + timedelta(days=DAYS_AHEAD)
    return DemoDates(last - (HISTORICAL.last - HISTORICAL.first), last, today)

FULL_ROWS = 1_048_575  # the real export: 2**20 - 1 data rows

POLOS = [
    "AC - RIO BRANCO", "AL - MACEIÓ", "AM - MANAUS", "AP - MACAPÁ", "BA - SALVADOR",
    "BA - FEIRA DE SANTANA", "BA - VITÓRIA DA CONQUISTA", "CE - FORTALEZA", "CE - JUAZEIRO DO NORTE",
    "DF - BRASÍLIA", "DF - TAGUATINGA", "ES - VITÓRIA", "ES - VILA VELHA", "GO - GOIÂNIA",
    "GO - ANÁPOLIS", "MA - SÃO LUÍS", "MA - IMPERATRIZ", "MG - BELO HORIZONTE", "MG - UBERLÂNDIA",
    "MG - CONTAGEM", "MG - JUIZ DE FORA", "MG - MONTES CLAROS", "MS - CAMPO GRANDE", "MS - DOURADOS",
    "MT - CUIABÁ", "MT - RONDONÓPOLIS", "PA - BELÉM", "PA - SANTARÉM", "PB - JOÃO PESSOA",
    "PB - CAMPINA GRANDE", "PE - BUNKER RECIFE 1", "PE - BUNKER RECIFE 2", "PE - CARUARU",
    "PE - PETROLINA", "PI - TERESINA", "PR - CURITIBA", "PR - LONDRINA", "PR - MARINGÁ",
    "PR - FOZ DO IGUAÇU", "PR - CASCAVEL", "RJ - RIO DE JANEIRO", "RJ - SÃO GONÇALO",
    "RJ - NITERÓI", "RJ - DUQUE DE CAXIAS", "RJ - NOVA IGUAÇU", "RJ - CAMPOS DOS GOYTACAZES",
    "RN - NATAL", "RN - MOSSORÓ", "RO - PORTO VELHO", "RR - BOA VISTA", "RS - PORTO ALEGRE",
    "RS - CAXIAS DO SUL", "RS - PELOTAS", "RS - SANTA MARIA", "SC - FLORIANÓPOLIS", "SC - JOINVILLE",
    "SC - BLUMENAU", "SC - CHAPECÓ", "SE - ARACAJU", "SP - SÃO PAULO", "SP - CAMPINAS",
    "SP - GUARULHOS", "SP - SANTO ANDRÉ", "SP - SÃO BERNARDO DO CAMPO", "SP - RIBEIRÃO PRETO",
    "SP - SOROCABA", "SP - SÃO JOSÉ DOS CAMPOS", "SP - BAURU", "TO - PALMAS", "TO - ARAGUAÍNA",
]
ANGELS_PER_POLO = 26
FIRST_NAMES = ["Pedro", "Ana", "João", "Maria", "Lucas", "Juliana", "Carlos", "Fernanda", "Rafael",
               "Camila", "Bruno", "Larissa", "Diego", "Patrícia", "Thiago", "Aline", "Marcos",
               "Beatriz", "Felipe", "Gabriela", "André", "Letícia", "Rodrigo", "Vanessa", "Gustavo",
               "Renata", "Eduardo", "Tatiane", "Leonardo", "Priscila", "Márcio", "Sônia", "Paulo",
               "Cláudia", "Vinícius", "Débora", "Sérgio", "Luana", "Fábio", "Jéssica"]
SURNAMES = ["Wanderley", "Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Ferreira",
            "Costa", "Rodrigues", "Almeida", "Nascimento", "Araújo", "Carvalho", "Gomes", "Martins",
            "Rocha", "Ribeiro", "Barbosa", "Cavalcanti", "Monteiro", "Moura", "Freitas", "Teixeira",
            "Correia", "Mendes", "Nunes", "Vieira", "Cardoso", "Brandão", "Albuquerque", "Queiroz",
            "Macedo", "Siqueira", "Bezerra", "Pinheiro", "Tavares", "Fonseca", "Medeiros", "Aragão",
            "Guimarães", "Lacerda", "Bastos", "Coelho", "Dantas", "Farias", "Leite", "Sampaio"]
PARTICLES = ["de", "da", "dos", "do", "das"]
DDDS = [11, 12, 13, 19, 21, 22, 24, 27, 31, 34, 41, 43, 44, 45, 47, 48, 51, 54, 61, 62, 65, 67,
        71, 73, 75, 79, 81, 82, 83, 84, 85, 86, 88, 91, 92, 95, 96, 98]

# Shares of the visit forms among visited services (the real file: ~95% ISO).
VISIT_FORMS = [
    (0.950, "{Y}-{m}-{d} {H}:{M}:{S}"),
    (0.020, "{d}/{m}/{Y} {H}:{M}:{S}"),
    (0.010, "{d}/{m}/{Y} {H}:{M}"),
    (0.008, "{d}/{m}/{Y}"),
    (0.004, "{d}/{m}{Y} {H}:{M}"),          # the slash lost between month and year
    (0.004, "{d}/{m}/{y}  "),                # two-digit year, trailing spaces
    (0.004, "{d} /{m} /{Y} {H}:{M}:{S}"),   # spaces before the slashes
]


@dataclass(frozen=True)
class DemoFiles:
    services: Path
    customers: Path
    services_rows: int
    customers_rows: int


def angels_by_polo(rng: random.Random) -> dict[str, list[str]]:
    """26 distinct three-token names per polo (`Pedro Wanderley de`), each angel in one polo."""
    pool = [f"{f} {s} {p}" for f in FIRST_NAMES for s in SURNAMES for p in PARTICLES]
    chosen = rng.sample(pool, len(POLOS) * ANGELS_PER_POLO)
    return {polo: chosen[i * ANGELS_PER_POLO:(i + 1) * ANGELS_PER_POLO] for i, polo in enumerate(POLOS)}


def deadline_days(dates: DemoDates) -> list[date]:
    """Every day of the deadline range that is not a national holiday (weekends do occur)."""
    br = holidays.country_holidays("BR", years=range(dates.first.year, dates.last.year + 1))
    days, day = [], dates.first
    while day <= dates.last:
        if day not in br:
            days.append(day)
        day += timedelta(days=1)
    return days


def _visit_text(rng: random.Random, when: datetime) -> str:
    r, acc = rng.random(), 0.0
    form = VISIT_FORMS[0][1]
    for share, candidate in VISIT_FORMS:
        acc += share
        if r < acc:
            form = candidate
            break
    return form.format(Y=f"{when.year:04d}", y=f"{when.year % 100:02d}", m=f"{when.month:02d}",
                       d=f"{when.day:02d}", H=f"{when.hour:02d}", M=f"{when.minute:02d}",
                       S=f"{when.second:02d}")


def _customer_line(rng: random.Random, customer_id: int) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    plain = (f"{first}.{last}".lower().translate(str.maketrans("áâãàéêíóôõúçü", "aaaaeeioooucu"))
             .replace(" ", ""))
    ddd = rng.choice(DDDS)
    number = f"9{rng.randrange(10**7, 10**8)}" if rng.random() < 0.8 else f"{rng.randrange(2 * 10**7, 10**8)}"
    return f"{customer_id};{first} {last};{plain}{customer_id}@example.com;{ddd}{number}"


def _done_by(when: datetime, today: date | None) -> bool:
    """Whether a visit planned at `when` has happened in data as of `today` (None: all have)."""
    return today is None or when.date() < today or (when.date() == today and when.hour < MORNING_ENDS)


def write_demo(out_dir: Path | str, *, dates: DemoDates, rows: int = 20_000, seed: int = 42) -> DemoFiles:
    """Write the services and customers demo files into out_dir; same dates and seed, same bytes."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    angels = angels_by_polo(rng)
    staff = [(polo, angel) for polo, names in angels.items() for angel in names]
    days = deadline_days(dates)
    customers: list[int] = []
    known: set[int] = set()
    service_id = 1_000_000 + rng.randrange(1000)
    services_path, customers_path = out / SERVICES_FILE, out / CUSTOMERS_FILE
    with services_path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(SERVICES_HEADER + "\n")
        lines = []
        for _ in range(rows):
            service_id += 1 + (rng.random() < 0.3) * rng.randrange(1, 5)  # unique, with gaps
            if not customers or rng.random() < 0.55:
                customer = rng.randrange(10_000, 999_999_999)  # 5-9 digits
                while customer in known:
                    customer = rng.randrange(10_000, 999_999_999)
                known.add(customer)
                customers.append(customer)
            else:
                customer = customers[rng.randrange(len(customers))]
            polo, angel = staff[rng.randrange(len(staff))]
            deadline = days[rng.randrange(len(days))]
            r = rng.random()
            if r < 0.04:
                visit = "-"  # never visited
            else:
                # 85% on time (up to 4 days early), the rest late by 1-6 days.
                offset = -rng.randrange(0, 5) if r < 0.89 else rng.randrange(1, 7)
                when = datetime(deadline.year, deadline.month, deadline.day,
                                rng.randrange(7, 20), rng.randrange(60), rng.randrange(60)) + timedelta(days=offset)
                visit = _visit_text(rng, when) if _done_by(when, dates.today) else "-"
            lines.append(f"{service_id};{customer};{angel};{polo};{deadline:%d/%m/%Y};{visit}\n")
            if len(lines) >= 50_000:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)
    with customers_path.open("w", encoding="utf-8", newline="\n") as f:
        for customer in customers:
            f.write(_customer_line(rng, customer) + "\n")
    return DemoFiles(services_path, customers_path, rows, len(customers))


def load_demo(engine, *, actor, settings, rows: int = 20_000, seed: int = 42) -> list:
    """Write demo files of a live day (today in TIMEZONE) into the data directory and load them
    (services, then customers)."""
    from core import loading
    from core.accounts import require
    from core.operation_day import today

    require(actor, "analyst")
    files = write_demo(settings.data_dir / "demo", dates=live(today(settings)), rows=rows, seed=seed)
    return [loading.load_file(engine, path=files.services, kind="services", actor=actor, settings=settings),
            loading.load_file(engine, path=files.customers, kind="customers", actor=actor, settings=settings)]
