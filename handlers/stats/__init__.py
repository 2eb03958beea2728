"""Statistics for coordinators: one module of figures that chat, CLI, CSV and dashboard share."""

from handlers.stats.figures import DIMENSIONS, Figures, Report, compute
from handlers.stats.period import Period, parse_period
from handlers.stats.working_hours import partner_working_hours, wall_clock_hours

__all__ = [
    "DIMENSIONS",
    "Figures",
    "Period",
    "Report",
    "compute",
    "parse_period",
    "partner_working_hours",
    "wall_clock_hours",
]
