{#- Numeric and text helpers that differ between DuckDB and StarRocks (see macros/dates.sql). -#}

{#- Integer division of two integer expressions, truncating (both operands are non-negative
    where this project uses it). DuckDB spells it `//`, StarRocks (MySQL) `div`. -#}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide', 'datawiz')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__integer_divide(dividend, divisor) -%}
    (({{ dividend }}) // ({{ divisor }}))
{%- endmacro %}

{% macro starrocks__integer_divide(dividend, divisor) -%}
    (({{ dividend }}) div ({{ divisor }}))
{%- endmacro %}

{#- numerator / denominator rounded to `digits` decimals, half away from zero, as an exact
    decimal(18, digits); null when the denominator is 0 or null.

    Both arguments must be INTEGER expressions (scale decimals to integers first, e.g. amounts
    in paise). The rounding is done in integer arithmetic:
        |q| = floor((2 * |n| * 10^digits + |d|) / (2 * |d|)) / 10^digits
    because a floating-point quotient (DuckDB divides decimals into a DOUBLE) turns exact halves
    such as 12.345 into 12.3449999... and would round them down. -#}
{% macro round_ratio_half_away_from_zero(numerator, denominator, digits=2) -%}
    {%- set scale = 10 ** digits -%}
    case
        when ({{ denominator }}) = 0 then null
        else cast(
            cast(
                (case
                    when ({{ numerator }}) < 0 and ({{ denominator }}) > 0 then -1
                    when ({{ numerator }}) > 0 and ({{ denominator }}) < 0 then -1
                    else 1
                end)
                * {{ datawiz.integer_divide(
                    '2 * abs(' ~ numerator ~ ') * ' ~ scale ~ ' + abs(' ~ denominator ~ ')',
                    '2 * abs(' ~ denominator ~ ')',
                ) }}
                as decimal(38, 0)
            ) * {{ '0.' ~ '0' * (digits - 1) ~ '1' if digits > 0 else '1' }}
            as decimal(18, {{ digits }})
        )
    end
{%- endmacro %}

{#- Any scalar as text (constants are stored as text, R10). -#}
{% macro to_text(expr) -%}
    {{ return(adapter.dispatch('to_text', 'datawiz')(expr)) }}
{%- endmacro %}

{% macro default__to_text(expr) -%}
    cast({{ expr }} as varchar)
{%- endmacro %}

{% macro starrocks__to_text(expr) -%}
    cast({{ expr }} as string)
{%- endmacro %}
