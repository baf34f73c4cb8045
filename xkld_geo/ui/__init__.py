"""The Streamlit layer: the only package of ``xkld_geo`` that imports streamlit.

``common`` holds what every page shares (connection, errors, demo label, filters), ``access`` the
login and role check; each page has a module of its own for its controls and rendering.
"""
from xkld_geo import registrations  # noqa: F401  (the domain packages' kinds and hooks, before any import)
from xkld_geo.ui.access import current_user, require, setup_page  # noqa: F401
from xkld_geo.ui.admin import render_admin  # noqa: F401
from xkld_geo.ui.common import (  # noqa: F401
                                Filters,
                                connection,
                                demo_badge,
                                filters,
                                guarded,
                                plain,
                                settings,
                                sidebar,
                                title,
)
from xkld_geo.ui.company import render_company  # noqa: F401
from xkld_geo.ui.completeness import render_completeness  # noqa: F401
from xkld_geo.ui.directives import render_jobfairs, render_markets, render_priority, render_programme  # noqa: F401,E501
from xkld_geo.ui.emulation import render_emulation  # noqa: F401
from xkld_geo.ui.foresight import render_outlook  # noqa: F401
from xkld_geo.ui.imports import render_imports  # noqa: F401
from xkld_geo.ui.monthly import render_monthly  # noqa: F401
from xkld_geo.ui.navigation import navigation  # noqa: F401
from xkld_geo.ui.notifications import render_notifications  # noqa: F401
from xkld_geo.ui.overview import (  # noqa: F401,E501
                                overview_indicator,
                                overview_request,
                                presentation_controls,
                                render_overview,
)
from xkld_geo.ui.part import fragment  # noqa: F401
from xkld_geo.ui.people import render_people  # noqa: F401
from xkld_geo.ui.pipeline import render_pipeline  # noqa: F401
from xkld_geo.ui.protection import render_cases, render_clubs_returnees  # noqa: F401
from xkld_geo.ui.public import public_request, render_public  # noqa: F401
from xkld_geo.ui.report import render_report  # noqa: F401
from xkld_geo.ui.workbench import render_workbench  # noqa: F401
