//! `#[derive(Differentiable)]`: a struct of floats, (nested) arrays of them and other
//! `Differentiable` structs becomes a value that `#[differentiable]` can differentiate. It gets
//! `Tangent` (zeros, `+=`, `-=` field by field), `AddScaled` by its float type, and
//! `Differentiable`; fields marked `#[no_derivative]` are data: kept by `+=`, `-=` and scaling,
//! `Default::default()` in a zero.
//!
//! Each trait impl is one call of [`Struct::impl_of`] with a body built by [`Struct::per_field`]
//! and [`Struct::field_values`], so that one more trait is a few lines.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Data, DeriveInput, GenericParam, Ident, Member, Type};

use crate::signature::{is_float_type, is_real_bound, real_type_params};

#[cfg(test)]
mod tests;

/// Expands `#[derive(Differentiable)] item`. Never panics: every problem is a `syn::Error` at its
/// span, emitted as `compile_error!` beside the impls of what is valid.
pub fn expand(input: TokenStream) -> TokenStream {
    let (code, errors) = expand_parts(input);
    let errors = errors.iter().map(syn::Error::to_compile_error);
    quote!(#code #(#errors)*)
}

/// The generated impls and the errors, apart.
pub fn expand_parts(input: TokenStream) -> (TokenStream, Vec<syn::Error>) {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return (TokenStream::new(), vec![e]),
    };
    let mut errors = Vec::new();
    let krate = crate_path(&input.attrs, &mut errors);
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        Data::Enum(e) => return (TokenStream::new(), vec![only_structs(e.enum_token.span, "an enum")]),
        Data::Union(u) => return (TokenStream::new(), vec![only_structs(u.union_token.span, "a union")]),
    };
    reject_no_derivative(&input.attrs, &mut errors);
    let mut implied = input.clone();
    imply_real_bounds(&mut implied, fields, &krate);
    let input = &implied;
    let reals = real_type_params(&input.generics);
    let mut fields: Vec<Field> =
        fields.iter().enumerate().map(|(i, f)| Field::read(i, f, &reals, &mut errors)).collect();
    let scalar = match scalar(&mut fields, &reals, &krate, &mut errors) {
        Some(s) => s,
        None if errors.is_empty() => {
            let e = syn::Error::new(
                input.ident.span(),
                format!(
                    "`{}` has nothing to differentiate: a `Differentiable` struct has a field that is a float \
                     (`f32`, `f64`, a `T: Real`), an array of them or a `Differentiable` struct",
                    input.ident
                ),
            );
            return (TokenStream::new(), vec![e]);
        }
        None => return (TokenStream::new(), errors),
    };
    let s = Struct { input, krate, scalar, fields, stub: !errors.is_empty() };
    (s.impls(), errors)
}

fn only_structs(span: Span, what: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "`#[derive(Differentiable)]` works on structs only, not on {what}: a differentiated value is a struct \
             of floats, arrays of them and other `Differentiable` structs"
        ),
    )
}

/// `#[relax(crate = path)]`: where the `relax` crate is (default `::relax`).
fn crate_path(attrs: &[syn::Attribute], errors: &mut Vec<syn::Error>) -> syn::Path {
    let mut krate = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("relax")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error("unknown option of `#[relax(..)]`: expected `crate = path`"))
            }
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    krate.unwrap_or_else(|| syn::parse_quote!(::relax))
}

/// `T: Real` on the generated impls for each type parameter without bounds that a differentiated
/// field holds as its element (`b: T`, `w: [T; 2]`): `struct Params<T> { … }`, bounded where it
/// is used as the ecosystem writes it, has `T` as its float type. (Bounded by anything else,
/// `T` is another `Differentiable` struct: `struct Outer<P: Differentiable> { inner: P }`.)
fn imply_real_bounds(input: &mut DeriveInput, fields: &syn::Fields, krate: &syn::Path) {
    let bounded: Vec<Ident> = input
        .generics
        .where_clause
        .iter()
        .flat_map(|w| &w.predicates)
        .filter_map(|pred| match pred {
            syn::WherePredicate::Type(pt) => match &pt.bounded_ty {
                Type::Path(p) => p.path.get_ident().cloned(),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let held: Vec<Ident> = fields
        .iter()
        .filter(|f| !f.attrs.iter().any(|a| a.path().is_ident("no_derivative")))
        .filter_map(|f| {
            let mut ty = &f.ty;
            while let Type::Array(a) = ty {
                ty = &a.elem;
            }
            match ty {
                Type::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
                _ => None,
            }
        })
        .collect();
    for param in input.generics.type_params_mut() {
        if param.bounds.is_empty() && !bounded.contains(&param.ident) && held.contains(&param.ident) {
            param.bounds.push(syn::parse_quote!(#krate::Real));
        }
    }
}

/// An error for each `#[no_derivative]` on the struct itself, where it means nothing.
fn reject_no_derivative(attrs: &[syn::Attribute], errors: &mut Vec<syn::Error>) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("no_derivative")) {
        errors.push(syn::Error::new_spanned(attr, "`#[no_derivative]` goes on a field, not on the struct"));
    }
}

/// One field: how to reach it, and whether it is differentiated (with its innermost element type).
struct Field {
    member: Member,
    ty: Type,
    leaf: Option<Leaf>,
}

/// The element type of a differentiated field, under its arrays.
enum Leaf {
    /// `f32`, `f64` or a type parameter bounded by `Real`.
    Float(Type),
    /// Any other path: a `Differentiable` struct or type parameter, checked by rustc.
    Nested(Type),
}

impl Field {
    fn read(index: usize, field: &syn::Field, reals: &[Ident], errors: &mut Vec<syn::Error>) -> Self {
        let member = match &field.ident {
            Some(id) => Member::Named(id.clone()),
            None => {
                Member::Unnamed(syn::Index { index: u32::try_from(index).unwrap_or(u32::MAX), span: field.ty.span() })
            }
        };
        let mut data = false;
        for attr in &field.attrs {
            if attr.path().is_ident("no_derivative") {
                if attr.meta.require_path_only().is_err() {
                    errors.push(syn::Error::new_spanned(&attr.meta, "`#[no_derivative]` takes no arguments"));
                }
                data = true;
            } else if attr.path().is_ident("relax") {
                errors.push(syn::Error::new_spanned(attr, "`#[relax(..)]` goes on the struct, not on a field"));
            }
        }
        let leaf = if data {
            None
        } else {
            match leaf(&field.ty, reals) {
                Ok(leaf) => Some(leaf),
                Err((span, what, hint)) => {
                    errors.push(syn::Error::new(
                        span,
                        format!(
                            "{} is {what}, which cannot be differentiated: mark it `#[no_derivative]` \
                             (data: kept in a value, `Default::default()` in a gradient){hint}",
                            describe(&member)
                        ),
                    ));
                    None
                }
            }
        };
        Field { member, ty: field.ty.clone(), leaf }
    }
}

/// The element type of `ty` under its arrays, or why it cannot be differentiated: the span, what
/// it is, and a hint beyond `#[no_derivative]`.
fn leaf(ty: &Type, reals: &[Ident]) -> Result<Leaf, (Span, String, &'static str)> {
    let unsupported = |what: &str, hint| Err((ty.span(), what.to_string(), hint));
    match ty {
        Type::Array(a) => leaf(&a.elem, reals),
        Type::Paren(p) => leaf(&p.elem, reals),
        Type::Group(g) => leaf(&g.elem, reals),
        Type::Path(_) if is_float_type(ty, reals) => Ok(Leaf::Float(ty.clone())),
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else { return Ok(Leaf::Nested(ty.clone())) };
            let name = last.ident.to_string();
            match name.as_str() {
                "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => {
                    unsupported(&format!("an integer (`{name}`)"), "")
                }
                "f16" | "f128" => unsupported(&format!("an `{name}`"), ": relax differentiates `f32` and `f64`"),
                "Vec" | "VecDeque" | "Box" | "Rc" | "Arc" | "Cell" | "RefCell" | "HashMap" | "HashSet" | "BTreeMap"
                | "BTreeSet" => unsupported(&format!("a `{name}`"), ", or use an array `[T; N]`"),
                "bool" | "char" | "str" | "String" | "PhantomData" => unsupported(&format!("a `{name}`"), ""),
                "Option" => unsupported("an `Option`", ""),
                "Result" => unsupported("a `Result`", ""),
                _ => Ok(Leaf::Nested(ty.clone())),
            }
        }
        Type::Reference(_) => unsupported("a reference", ", or store the value it points to"),
        Type::Ptr(_) => unsupported("a raw pointer", ""),
        Type::Slice(_) => unsupported("a slice", ", or use an array `[T; N]`"),
        Type::Tuple(_) => unsupported("a tuple", ", or hold the floats in an array or a `Differentiable` struct"),
        Type::FnPtr(_) => unsupported("a function pointer", ""),
        Type::TraitObject(_) | Type::ImplTrait(_) => unsupported("a trait type", ""),
        _ => unsupported("a type that is not a float, an array or a struct", ""),
    }
}

/// The struct's float type: that of its first float field; another float type in a later field is
/// an error there (and the field is left out, so that nothing else fails). Without float fields:
/// the first `Real` type parameter, else the `Scalar` of the first nested struct.
fn scalar(fields: &mut [Field], reals: &[Ident], krate: &syn::Path, errors: &mut Vec<syn::Error>) -> Option<Type> {
    let mut first: Option<(Type, String)> = None;
    for f in fields.iter_mut() {
        let Some(Leaf::Float(t)) = &f.leaf else { continue };
        match &first {
            None => first = Some((t.clone(), describe(&f.member))),
            Some((s, from)) if tokens(s) != tokens(t) => {
                errors.push(syn::Error::new(
                    t.span(),
                    format!(
                        "`{}` mixes float types: this struct's float type is `{}` (from {from}); give every field the \
                         same float type (or one type parameter `T: Real`), or mark this one `#[no_derivative]`",
                        tokens(t),
                        tokens(s)
                    ),
                ));
                f.leaf = None;
            }
            Some(_) => {}
        }
    }
    if let Some((s, _)) = first {
        return Some(s);
    }
    if let Some(t) = reals.first() {
        return Some(syn::parse_quote!(#t));
    }
    fields.iter().find_map(|f| match &f.leaf {
        Some(Leaf::Nested(t)) => Some(syn::parse_quote_spanned!(t.span()=> <#t as #krate::Differentiable>::Scalar)),
        _ => None,
    })
}

/// `field `name`` or `field 0`, for messages.
fn describe(member: &Member) -> String {
    match member {
        Member::Named(id) => format!("field `{id}`"),
        Member::Unnamed(i) => format!("field {}", i.index),
    }
}

fn tokens(t: &impl ToTokens) -> String {
    t.to_token_stream().to_string()
}

/// A struct whose float type is known, ready to generate impls for.
struct Struct<'a> {
    input: &'a DeriveInput,
    krate: syn::Path,
    scalar: Type,
    fields: Vec<Field>,
    /// There are errors: the impls get `unimplemented!()` bodies, so that the struct's uses
    /// elsewhere report nothing more.
    stub: bool,
}

impl Struct<'_> {
    fn impls(&self) -> TokenStream {
        let k = &self.krate;
        let s = &self.scalar;
        let other = Ident::new("other", Span::mixed_site());
        let scale = Ident::new("k", Span::mixed_site());
        let zero = self.field_values(|_, sp| quote_spanned!(sp=> #k::Tangent::zero_tangent()));
        let zero_like = self.field_values(|m, sp| quote_spanned!(sp=> #k::Tangent::zero_like(&self.#m)));
        let add = self.per_field(|m, sp| quote_spanned!(sp=> #k::Tangent::add_tangent(&mut self.#m, #other.#m);));
        let sub = self.per_field(|m, sp| quote_spanned!(sp=> #k::Tangent::sub_tangent(&mut self.#m, #other.#m);));
        let add_scaled = self
            .per_field(|m, sp| quote_spanned!(sp=> #k::AddScaled::<#s>::add_scaled(&mut self.#m, #scale, #other.#m);));
        let scale_fields =
            self.per_field(|m, sp| quote_spanned!(sp=> #k::AddScaled::<#s>::scale(&mut self.#m, #scale);));
        let tangent = self.impl_of(
            quote!(#k::Tangent),
            quote! {
                #[inline]
                fn zero_tangent() -> Self {
                    #zero
                }
                #[inline]
                fn zero_like(&self) -> Self {
                    #zero_like
                }
                #[inline]
                fn add_tangent(&mut self, #other: Self) {
                    #add
                }
                #[inline]
                fn sub_tangent(&mut self, #other: Self) {
                    #sub
                }
            },
        );
        let add_scaled = self.impl_of(
            quote!(#k::AddScaled<#s>),
            quote! {
                #[inline]
                fn add_scaled(&mut self, #scale: #s, #other: Self) {
                    #add_scaled
                }
                #[inline]
                fn scale(&mut self, #scale: #s) {
                    #scale_fields
                }
            },
        );
        let f = Ident::new("f", Span::mixed_site());
        let (index, out) = (Ident::new("index", Span::mixed_site()), Ident::new("out", Span::mixed_site()));
        let visit = self.per_field(|m, sp| quote_spanned!(sp=> #k::Coordinates::for_each_coordinate(&self.#m, #f);));
        let map = self.per_field(|m, sp| quote_spanned!(sp=> #k::Coordinates::map_coordinates(&mut self.#m, #f);));
        let path = self.per_field(|m, sp| {
            let dot = match m {
                Member::Named(n) => format!(".{n}"),
                Member::Unnamed(i) => format!(".{}", i.index),
            };
            quote_spanned! {sp=>
                let n = #k::Coordinates::coordinate_count(&self.#m);
                if #index < n {
                    ::core::fmt::Write::write_str(#out, #dot)?;
                    return #k::Coordinates::write_coordinate_path(&self.#m, #index, #out);
                }
                #index -= n;
            }
        });
        // Beside errors, the trait's default (the stubs have no fields to name).
        let path_method = (!self.stub).then(|| {
            quote! {
                #[allow(unused_mut, unused_assignments)]
                fn write_coordinate_path(&self, mut #index: usize, #out: &mut dyn ::core::fmt::Write) -> ::core::fmt::Result {
                    #path
                    ::core::result::Result::Ok(())
                }
            }
        });
        let coordinates = self.impl_of(
            quote!(#k::Coordinates),
            quote! {
                fn for_each_coordinate(&self, #f: &mut dyn ::core::ops::FnMut(f64)) {
                    #visit
                }
                fn map_coordinates(&mut self, #f: &mut dyn ::core::ops::FnMut(f64) -> f64) {
                    #map
                }
                #path_method
            },
        );
        let differentiable = self.impl_of(quote!(#k::Differentiable), quote!(type Scalar = #s;));
        let seed = self.seed();
        let check = self.check_nested();
        quote!(#tangent #add_scaled #coordinates #differentiable #seed #check)
    }

    /// `relax::dual::Seed` and `SeedStruct`, what `#[differentiable(hvp)]` seeds a struct parameter with and splits
    /// its dual gradient by: the struct on dual numbers is the same struct over `Dual<T>`. Only for
    /// a struct generic over its float type `T` whose differentiated fields all mention `T` and
    /// whose data fields do not (a field of another float type could not hold a dual), and whose
    /// `T` is bounded by `Real` alone (the struct over `Dual<T>` must be well formed). Any other
    /// struct has no `Seed`; `#[differentiable(hvp)]` refuses one spelled without its float type
    /// (`p: Line`), and rustc one that is (`SeedStruct`'s message).
    fn seed(&self) -> Option<TokenStream> {
        if self.stub {
            return None;
        }
        let (k, name) = (&self.krate, &self.input.ident);
        let float = self.input.generics.type_params().map(|p| &p.ident).find(|t| tokens(&self.scalar) == tokens(t))?;
        if self.fields.iter().any(|f| f.leaf.is_some() != mentions(&f.ty, &[float]))
            || !only_real_bounds(self.input, float)
        {
            return None;
        }
        let args = self.input.generics.params.iter().map(|p| match p {
            GenericParam::Type(t) if t.ident == *float => quote!(#k::Dual<#float>),
            GenericParam::Type(t) => t.ident.to_token_stream(),
            GenericParam::Const(c) => c.ident.to_token_stream(),
            GenericParam::Lifetime(l) => l.lifetime.to_token_stream(),
        });
        let dual = quote!(#name<#(#args),*>);
        let [value, tangent, out, values, tangents] =
            ["value", "tangent", "out", "values", "tangents"].map(|n| Ident::new(n, Span::mixed_site()));
        let seed = Ident::new("seed", Span::mixed_site());
        // Each field's value from its differentiated part (`active`) or the data field's `data`.
        let literal = |active: &dyn Fn(&Member) -> TokenStream, data: &dyn Fn(&Member) -> TokenStream| {
            let fields = self.fields.iter().map(|f| {
                let m = &f.member;
                let v = if f.leaf.is_some() { active(m) } else { data(m) };
                quote!(#m: #v)
            });
            quote!(#name { #(#fields),* })
        };
        let in_place = |active: &dyn Fn(&Member) -> TokenStream, data: &dyn Fn(&Member) -> TokenStream| {
            self.fields
                .iter()
                .map(|f| if f.leaf.is_some() { active(&f.member) } else { data(&f.member) })
                .collect::<TokenStream>()
        };
        let clone = |from: &Ident, m: &Member| quote!(::core::clone::Clone::clone(&#from.#m));
        let seeded = literal(&|m| quote!(#k::dual::Seed::seed(#value.#m, #tangent.#m)), &|m| clone(&value, m));
        let seeded_into =
            in_place(&|m| quote!(#k::dual::Seed::seed_into(&#value.#m, &#tangent.#m, &mut #out.#m);), &|m| {
                let v = clone(&value, m);
                quote!(#out.#m = #v;)
            });
        let split_into =
            in_place(&|m| quote!(#k::dual::Seed::split_into(&#seed.#m, &mut #values.#m, &mut #tangents.#m);), &|m| {
                let v = clone(&seed, m);
                quote!(#values.#m = #v; #tangents.#m = ::core::default::Default::default();)
            });
        let constant = literal(&|m| quote!(#k::dual::Seed::constant(#value.#m)), &|m| clone(&value, m));
        let constant_into = in_place(&|m| quote!(#k::dual::Seed::constant_into(&#value.#m, &mut #out.#m);), &|m| {
            let v = clone(&value, m);
            quote!(#out.#m = #v;)
        });
        let seed_struct = self.impl_of(
            quote!(#k::dual::SeedStruct),
            quote! {
                type Dual = #dual;
                #[inline(always)]
                fn seed(#value: Self, #tangent: Self) -> #dual {
                    <Self as #k::dual::Seed>::seed(#value, #tangent)
                }
                #[inline(always)]
                fn split(#seed: #dual) -> (Self, Self) {
                    <Self as #k::dual::Seed>::split(#seed)
                }
            },
        );
        let seed = self.impl_of(
            quote!(#k::dual::Seed),
            quote! {
                type Dual = #dual;
                #[inline(always)]
                fn seed(#value: Self, #tangent: Self) -> #dual {
                    #seeded
                }
                #[inline(always)]
                fn split(#seed: #dual) -> (Self, Self) {
                    let (mut #values, mut #tangents) = (#k::Tangent::zero_tangent(), #k::Tangent::zero_tangent());
                    <Self as #k::dual::Seed>::split_into(&#seed, &mut #values, &mut #tangents);
                    (#values, #tangents)
                }
                #[inline(always)]
                fn seed_into(#value: &Self, #tangent: &Self, #out: &mut #dual) {
                    #seeded_into
                }
                #[inline(always)]
                fn split_into(#seed: &#dual, #values: &mut Self, #tangents: &mut Self) {
                    #split_into
                }
                #[inline(always)]
                fn constant(#value: Self) -> #dual {
                    #constant
                }
                #[inline(always)]
                fn constant_into(#value: &Self, #out: &mut #dual) {
                    #constant_into
                }
            },
        );
        // A constant or data struct passed where a callee of `hvp` code differentiates it.
        let into_dual = self.impl_of(
            quote!(#k::dual::IntoDual<#dual>),
            quote! {
                #[inline(always)]
                fn into_dual(self) -> #dual {
                    <Self as #k::dual::Seed>::constant(self)
                }
            },
        );
        // The values of the struct over duals, by its split.
        let (impl_generics, ty_generics, where_clause) = self.input.generics.split_for_impl();
        let predicates = where_clause.map(|w| &w.predicates);
        let primal = quote! {
            #[automatically_derived]
            impl #impl_generics #k::dual::Primal for #dual
            where
                #name #ty_generics: #k::dual::Seed<Dual = #dual>,
                #predicates
            {
                type Primal = #name #ty_generics;
                #[inline(always)]
                fn primal(self) -> #name #ty_generics {
                    <#name #ty_generics as #k::dual::Seed>::split(self).0
                }
            }
        };
        Some(quote!(#seed #seed_struct #into_dual #primal))
    }

    /// `op(member, span of its type)` for each differentiated field; beside errors, a stub.
    fn per_field(&self, op: impl Fn(&Member, Span) -> TokenStream) -> TokenStream {
        if self.stub {
            return quote!(::core::unimplemented!());
        }
        self.fields.iter().filter(|f| f.leaf.is_some()).map(|f| op(&f.member, f.ty.span())).collect()
    }

    /// `Self { .. }` with `active(member, span of its type)` for each differentiated field and
    /// `Default::default()` for each `#[no_derivative]` one; beside errors, a stub.
    fn field_values(&self, active: impl Fn(&Member, Span) -> TokenStream) -> TokenStream {
        if self.stub {
            return quote!(::core::unimplemented!());
        }
        let values = self.fields.iter().map(|f| {
            let (m, sp) = (&f.member, f.ty.span());
            let v =
                if f.leaf.is_some() { active(m, sp) } else { quote_spanned!(sp=> ::core::default::Default::default()) };
            quote!(#m: #v)
        });
        quote!(Self { #(#values),* })
    }

    /// The element types of the nested struct fields, each once, with the float type they must
    /// have (`None` for the one the struct's float type comes from).
    fn nested(&self) -> Vec<(&Type, Option<&Type>)> {
        let mut out: Vec<(&Type, Option<&Type>)> = Vec::new();
        for f in &self.fields {
            if let Some(Leaf::Nested(t)) = &f.leaf
                && !out.iter().any(|(u, _)| tokens(u) == tokens(t))
            {
                let k = &self.krate;
                let defines: Type = syn::parse_quote!(<#t as #k::Differentiable>::Scalar);
                out.push((t, (tokens(&defines) != tokens(&self.scalar)).then_some(&self.scalar)));
            }
        }
        out
    }

    /// One error per nested struct field whose type is not `Differentiable` with the struct's float
    /// type (rustc's, at the field, worded by the trait's `on_unimplemented`).
    fn check_nested(&self) -> TokenStream {
        let k = &self.krate;
        let checks: Vec<TokenStream> = self
            .nested()
            .into_iter()
            .map(|(t, s)| {
                let s = s.map_or_else(|| quote!(_), ToTokens::to_token_stream);
                quote_spanned!(t.span()=> #k::tangent::require_differentiable::<#t, #s>();)
            })
            .collect();
        if checks.is_empty() {
            return TokenStream::new();
        }
        let (impl_generics, _, where_clause) = self.input.generics.split_for_impl();
        let check = Ident::new("check", Span::mixed_site());
        quote! {
            const _: () = {
                #[allow(dead_code, clippy::extra_unused_lifetimes, clippy::extra_unused_type_parameters)]
                fn #check #impl_generics () #where_clause {
                    #(#checks)*
                }
            };
        }
    }

    /// `impl Trait for Struct` with the struct's generics, and the bounds that make it hold: each
    /// nested struct is `Differentiable` with the same float type (a bound without type parameters
    /// under `for<'__relax>`, so that a missing impl is the one error of [`Self::check_nested`]);
    /// for a generic struct, the struct is `Copy` and each data field mentioning a type parameter
    /// is `Default` and `Clone` (as it is wherever the struct is `Copy`).
    fn impl_of(&self, trait_path: TokenStream, items: TokenStream) -> TokenStream {
        let (impl_generics, ty_generics, where_clause) = self.input.generics.split_for_impl();
        let (name, k) = (&self.input.ident, &self.krate);
        let params: Vec<&Ident> = self.input.generics.type_params().map(|p| &p.ident).collect();
        let mut bounds: Vec<TokenStream> =
            where_clause.map(|w| w.predicates.iter().map(ToTokens::to_token_stream).collect()).unwrap_or_default();
        for (t, s) in self.nested() {
            let scalar = s.map(|s| quote!(<Scalar = #s>));
            let binder = (!mentions(t, &params)).then(|| quote!(for<'__relax>));
            bounds.push(quote_spanned!(t.span()=> #binder #t: #k::Differentiable #scalar));
        }
        if !params.is_empty() {
            bounds.push(quote!(#name #ty_generics: ::core::marker::Copy));
            for f in self.fields.iter().filter(|f| f.leaf.is_none() && mentions(&f.ty, &params)) {
                let t = &f.ty;
                bounds.push(quote_spanned!(t.span()=> #t: ::core::default::Default + ::core::clone::Clone));
            }
        }
        let stub = self.stub.then(|| quote!(#[allow(unused_variables)]));
        // The bounds may repeat the struct's own (`T: Real` and `T: Default`): harmless.
        quote! {
            #[automatically_derived]
            #[allow(clippy::type_repetition_in_bounds, clippy::trait_duplication_in_bounds)]
            #stub
            impl #impl_generics #trait_path for #name #ty_generics where #(#bounds,)* {
                #items
            }
        }
    }
}

/// Whether `float`'s only bound is `Real`, in its declaration and in the where clause: the struct
/// over `Dual<T>` must be well formed, and `Dual<T>` is `Real` but may lack any other trait.
fn only_real_bounds(input: &DeriveInput, float: &Ident) -> bool {
    let declared =
        input.generics.type_params().filter(|p| p.ident == *float).all(|p| p.bounds.iter().all(is_real_bound));
    let clauses = input.generics.where_clause.iter().flat_map(|w| &w.predicates).all(|pred| match pred {
        syn::WherePredicate::Type(pt) if mentions(&pt.bounded_ty, &[float]) => {
            matches!(&pt.bounded_ty, Type::Path(p) if p.path.is_ident(float)) && pt.bounds.iter().all(is_real_bound)
        }
        _ => true,
    });
    declared && clauses
}

/// Whether `ty` names one of `params`.
pub fn mentions(ty: &Type, params: &[&Ident]) -> bool {
    struct Finder<'a> {
        params: &'a [&'a Ident],
        found: bool,
    }
    impl Visit<'_> for Finder<'_> {
        fn visit_path(&mut self, p: &syn::Path) {
            if p.segments.first().is_some_and(|s| self.params.iter().any(|id| s.ident == **id)) {
                self.found = true;
            }
            syn::visit::visit_path(self, p);
        }
    }
    let mut f = Finder { params, found: false };
    f.visit_type(ty);
    f.found
}
