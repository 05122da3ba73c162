"""Hooks both ways, called explicitly by services (no signals).

- This floor reacts to the one below: a service visit recorded (customers.hooks) closes
  the cycles it answers, credits appointments and marks recall members back, inside the
  visit's transaction (services.vehicle_came_in, idempotent): the visit is saved with
  its effects or not at all. A customer's
  personal data erased (customers.hooks "customer erased") cancels their open calls and
  scrubs the notes, reasons, preferences and SMS this floor keeps about them
  (services.customer_scrub). Inside the transaction of the change, too: consent to calls
  or SMS withdrawn cancels the customer's open calls or expires their SMS not yet sent
  ("consent changed", services.customer_consent_withdrawn); a car sold on or retired
  cancels its open tasks ("vehicle ownership ended", services.vehicle_work_cancel); a
  duplicate merged moves its tasks to the kept record, those of a cycle the kept record
  has too staying behind cancelled ("customer merged", services.customer_merge_tasks);
  a policy recorded (a renewal) cancels the open calls of the insurance cycles it
  renews ("policy recorded", services.insurance_renewed).
- The floors above react to this one: satisfaction registers an "answers recorded" hook
  in its AppConfig.ready():

      from followups import hooks
      hooks.answers_recorded.register(my_hook)

  `hook(*, task, answers)` is called by services.task_record_outcome inside its
  transaction with the call's task and the SatisfactionAnswer rows it just saved; a hook
  defers its work with transaction.on_commit and must be safe to run twice (the outcome
  of a call may be recorded again).
"""


from crm_site.hooks import Hook

answers_recorded = Hook("answers recorded")  # hook(*, task, answers)


def visit_recorded(visit):
    """customers "visit recorded" hook: close the car's cycles in the visit's transaction."""
    from . import services

    services.vehicle_came_in(vehicle_id=visit.vehicle_id, visit_day=visit.date_in)


def visits_imported(*, store, earliest):
    """customers "visits imported" hook: close the cycles of every car visited since."""
    from . import services

    services.vehicles_came_in(store=store, visited_since=earliest)


def customer_erased(customer, scrubbed):
    """customers "customer erased" hook: scrub this floor's rows about the customer."""
    from . import services

    scrubbed.update(services.customer_scrub(customer=customer))


def consent_changed(customer, changes):
    """customers "consent changed" hook: the work of a withdrawn channel is cancelled."""
    from . import services

    withdrawn = {change.channel for change in changes if not change.allowed}
    if withdrawn:
        services.customer_consent_withdrawn(customer=customer, channels=withdrawn)


def ownership_ended(vehicle, *, retired):
    """customers "vehicle ownership ended" hook: the car's open tasks are cancelled."""
    from . import services

    services.vehicle_work_cancel(vehicle=vehicle, retired=retired)


def policy_recorded(policy):
    """customers "policy recorded" hook: the insurance cycles it renews close at once."""
    from . import services

    services.insurance_renewed(policy=policy)


def customer_merged(kept, merged, moved):
    """customers "customer merged" hook: tasks move to the kept record, duplicates stay."""
    from . import services

    moved.update(services.customer_merge_tasks(kept=kept, merged=merged))
