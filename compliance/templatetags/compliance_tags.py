from django import template

register = template.Library()


@register.filter
def person(user, empty: str = "—") -> str:
    """A user's full name, else the username; ``empty`` for nobody."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()
