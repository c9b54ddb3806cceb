# The shop the sales tests use: the books are tested on the orders it takes.
from tests.sales.conftest import filled_cart, pay_order, store, to_app

__all__ = ["filled_cart", "pay_order", "store", "to_app"]
