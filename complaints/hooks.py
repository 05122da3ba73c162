"""How this floor reacts to the one below, called explicitly by its services (no
signals), registered in ComplaintsConfig.ready(): a customer's personal data erased
(customers.hooks "customer erased") scrubs the text of their complaints
(services.customer_scrub)."""


def customer_erased(customer, scrubbed):
    """customers "customer erased" hook: scrub this floor's rows about the customer."""
    from . import services

    scrubbed.update(services.customer_scrub(customer=customer))
