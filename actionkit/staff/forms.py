"""Forms of the staff pages: log-in, accounts, own password, retention."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, IntegerField, PasswordField, SelectField, StringField, \
    SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, ValidationError

from actionkit.bodylimits import BoundedForm
from actionkit.staff import passwords
from actionkit.staff.models import Role
from actionkit.staff.services import RETENTION_RANGE

ROLE_CHOICES = [(Role.VIEWER.value, "Viewer: participation stats only"),
                (Role.EDITOR.value, "Editor: campaigns, officials, deliveries"),
                (Role.ADMIN.value, "Admin: everything, including staff accounts and personal data")]


def _policy(form: FlaskForm, field: PasswordField) -> None:
    if field.data:
        try:
            passwords.check_policy(field.data)
        except passwords.PasswordPolicyError as exc:
            raise ValidationError(str(exc)) from None


class LoginForm(BoundedForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()
    submit = SubmitField("Log in")


class NewUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.VIEWER.value)
    password = PasswordField("Password", validators=[Optional(), _policy],
                             description="Leave empty to generate one; it is shown once.",
                             render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Create account")


class UserForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Active (may log in)")
    save = SubmitField("Save")
    reset_password = SubmitField("Generate a new password")
    unlock = SubmitField("Unlock")


class PasswordChangeForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("New password", validators=[DataRequired(), _policy],
                        description=f"At least {passwords.MIN_LENGTH} characters; a passphrase is best.",
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", validators=[DataRequired(), EqualTo("new", "The passwords differ.")],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Change password")


class RetentionForm(FlaskForm):
    days = IntegerField("Keep street address and phone for this many days after the last delivery",
                        validators=[DataRequired(), NumberRange(*RETENTION_RANGE)])
    submit = SubmitField("Save")
