from tests.sales.conftest import filled_cart, pay_order, store, to_app

__all__ = ["filled_cart", "pay_order", "store", "to_app"]
