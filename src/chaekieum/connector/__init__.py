"""The library connector (책이음 미들웨어): a daemon installed at each library, between the
library's own systems and the hub. It talks to the hub only through ``chaekieum.client``."""
