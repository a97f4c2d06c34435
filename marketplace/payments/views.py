"""The payment page of a contract, bank-transfer actions, Stripe checkout, Connect onboarding and
the Stripe webhook."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.contracts import services as contracts
from marketplace.contracts.models import Contract
from marketplace.core.csp import CSP
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.money import yuan_to_fen
from marketplace.core.web import current_actor, fail
from marketplace.extensions import csrf, db, talisman
from marketplace.payments import bp, services
from marketplace.payments.forms import DisputeForm, EmptyForm, OfflinePaymentForm
from marketplace.payments.models import PaymentStatus
from marketplace.payments.providers import ProviderError

VIEW_ROLES = (Role.ENTERPRISE_STAFF, Role.AGENCY_STAFF, Role.REGULATOR, Role.ADMIN)
# Browsers apply form-action to the redirect after a form POST too: the pages whose forms lead to
# Stripe (Checkout, Connect onboarding) allow Stripe's origins, and only those pages.
STRIPE_FORM_CSP = {**CSP, "form-action": ["'self'", "https://checkout.stripe.com", "https://connect.stripe.com"]}
ID = "int(max=2147483647)"


def _load(contract_id) -> Contract:
    try:
        return contracts.get_contract_for(current_user, contract_id)
    except NotFound:
        abort(404)


def _back(contract_id: int):
    return redirect(url_for("payments.show", contract_id=contract_id))


def _render(contract: Contract, *, offline_form=None, dispute_form=None, status: int = 200):
    payment = services.payment_of(contract)
    provider = payment.provider if payment is not None else services.current_provider_name()
    if offline_form is None:
        offline_form = OfflinePaymentForm(paid_on=contracts.china_today(),
                                          amount=Decimal(contract.price_fen) / 100)
    return render_template(
        "payments/show.html", contract=contract, payment=payment, provider=provider,
        party=contract.party_of(current_user), role=current_user.role, Status=PaymentStatus,
        history=services.history(payment), offline_form=offline_form,
        dispute_form=dispute_form or DisputeForm(), action_form=EmptyForm(),
    ), status


@bp.get(f"/contracts/<{ID}:contract_id>/payment")
@roles_required(*VIEW_ROLES)
@talisman(content_security_policy=STRIPE_FORM_CSP)
def show(contract_id: int):
    """The payment of the contract: its state, the current party's actions, its history."""
    return _render(_load(contract_id))


@bp.post(f"/contracts/<{ID}:contract_id>/payment/offline")
@roles_required(Role.ENTERPRISE_STAFF)
def record_offline(contract_id: int):
    """The enterprise records its bank transfer."""
    contract = _load(contract_id)
    form = OfflinePaymentForm()
    if not form.validate_on_submit():
        return _render(contract, offline_form=form, status=400)
    try:
        amount = yuan_to_fen(form.amount.data)
    except ValueError:
        form.amount.errors = [*form.amount.errors, _("Enter a valid amount.")]
        return _render(contract, offline_form=form, status=400)
    data = services.OfflineInput(reference=form.reference.data, amount_fen=amount, paid_on=form.paid_on.data)
    try:
        services.record_offline_payment(contract, data, actor=current_actor())
    except DomainError as exc:
        fail(form, exc)
        return _render(contract, offline_form=form, status=400)
    db.session.commit()
    flash(_("Your bank transfer was recorded; the agency will confirm receipt."), "success")
    return _back(contract_id)


@bp.post(f"/contracts/<{ID}:contract_id>/payment/confirm")
@roles_required(Role.AGENCY_STAFF)
def confirm_offline(contract_id: int):
    """The agency confirms receipt of the recorded bank transfer."""
    contract = _load(contract_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return _back(contract_id)
    try:
        services.confirm_offline_payment(contract, actor=current_actor())
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("You confirmed receipt of the payment."), "success")
    return _back(contract_id)


@bp.post(f"/contracts/<{ID}:contract_id>/payment/dispute")
@roles_required(Role.AGENCY_STAFF)
def dispute_offline(contract_id: int):
    """The agency disputes the recorded bank transfer, with a reason."""
    contract = _load(contract_id)
    form = DisputeForm()
    if not form.validate_on_submit():
        return _render(contract, dispute_form=form, status=400)
    try:
        services.dispute_offline_payment(contract, form.reason.data, actor=current_actor())
    except DomainError as exc:
        fail(form, exc)
        return _render(contract, dispute_form=form, status=400)
    db.session.commit()
    flash(_("You disputed the recorded bank transfer; the enterprise was told why."), "success")
    return _back(contract_id)


@bp.post(f"/contracts/<{ID}:contract_id>/payment/checkout")
@roles_required(Role.ENTERPRISE_STAFF)
def checkout(contract_id: int):
    """The enterprise pays online: off to the Stripe Checkout page."""
    contract = _load(contract_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return _back(contract_id)
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    here = url_for("payments.show", contract_id=contract_id)
    try:
        url = services.start_checkout(
            contract, actor=current_actor(),
            success_url=f"{base}{url_for('payments.checkout_return', contract_id=contract_id)}",
            cancel_url=f"{base}{here}",
        )
    except DomainError as exc:
        fail(None, exc)
        return _back(contract_id)
    db.session.commit()
    return redirect(url, code=303)


@bp.get(f"/contracts/<{ID}:contract_id>/payment/return")
@roles_required(Role.ENTERPRISE_STAFF)
def checkout_return(contract_id: int):
    """Back from Stripe: ask Stripe at once rather than wait for the webhook."""
    contract = _load(contract_id)
    try:
        payment = services.return_from_checkout(contract, actor=current_actor())
    except DomainError:
        db.session.rollback()
        payment = None
    else:
        db.session.commit()
    if payment is not None and payment.status is PaymentStatus.PAID:
        flash(_("Thank you: the payment was received and is held by the platform."), "success")
    else:
        flash(_("The payment is being confirmed; this page will show it once Stripe does."), "info")
    return _back(contract_id)


# --- Stripe Connect onboarding (agency profile) ------------------------------------------------


@bp.get("/payments/connect")
@roles_required(Role.AGENCY_STAFF)
@talisman(content_security_policy=STRIPE_FORM_CSP)
def connect_page():
    """What connecting a Stripe account means, and the button that starts it."""
    return render_template("payments/connect.html", account=services.account_of(current_user.organisation_id),
                           online=services.current_provider_name() == "stripe", form=EmptyForm())


@bp.post("/payments/connect")
@roles_required(Role.AGENCY_STAFF)
def connect():
    """Start or continue the agency's Stripe Connect onboarding."""
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
        return redirect(url_for("payments.connect_page"))
    base = current_app.config.get("STRIPE_CONNECT_RETURN_URL") or (
        current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/") + url_for("payments.connect_return"))
    try:
        url = services.start_onboarding(current_user.organisation, actor=current_actor(),
                                        refresh_url=base, return_url=base)
    except DomainError as exc:
        fail(None, exc)
        return redirect(url_for("payments.connect_page"))
    db.session.commit()
    return redirect(url, code=303)


@bp.get("/payments/connect/return")
@roles_required(Role.AGENCY_STAFF)
def connect_return():
    """Back from Stripe onboarding: show whether the account can receive transfers."""
    account = services.account_of(current_user.organisation_id)
    if account is not None:
        try:
            services.refresh_account(account, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
            account = services.account_of(current_user.organisation_id)
        else:
            db.session.commit()
    return render_template("payments/connect_return.html", account=account,
                           online=services.current_provider_name() == "stripe", form=EmptyForm())


# --- the Stripe webhook -----------------------------------------------------------------------


@bp.post("/payments/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    """Stripe's events: signature checked, each event applied once, objects fetched again."""
    payload = request.get_data(cache=False)
    try:
        outcome = services.handle_webhook(payload, request.headers.get("Stripe-Signature"))
    except services.WebhookRejected:
        db.session.rollback()
        return jsonify(error="invalid signature or event"), 400
    except ProviderError:
        # Stripe could not be asked: keep nothing, let Stripe deliver again later.
        db.session.rollback()
        return jsonify(error="temporarily unavailable"), 503
    except DomainError:
        # Someone else moved the payment at the same moment: Stripe retries, the state decides.
        db.session.rollback()
        return jsonify(error="conflict, retry"), 409
    db.session.commit()
    return jsonify(received=True, outcome=outcome), 200


# --- template helpers for the contract page and the agency profile ----------------------------


@bp.app_template_global("payment_of_contract")
def payment_of_contract(contract):
    """The contract's payment (None before it was started), for the contract page's panel."""
    return services.payment_of(contract)


@bp.app_template_global("payment_account_panel")
def payment_account_panel():
    """What the agency profile shows about receiving online payments (None when offline)."""
    if services.current_provider_name() != "stripe" or not getattr(current_user, "is_authenticated", False):
        return None
    return {"account": services.account_of(current_user.organisation_id), "form": EmptyForm()}


@bp.record_once
def _subscribe(_state) -> None:
    services.connect_signals()
