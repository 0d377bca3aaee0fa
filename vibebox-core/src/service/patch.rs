use serde::{Deserialize, Deserializer, Serialize};

/// A field of a partial update: left alone, set to a value, or (for optional fields) cleared.
///
/// In JSON, an absent field is [`Patch::Keep`], `null` is [`Patch::Clear`] and a value is
/// [`Patch::Set`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Patch<T> {
    /// Leave the field as it is.
    #[default]
    Keep,
    /// Clear an optional field.
    Clear,
    /// Set the field.
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Patch::Set(v),
            None => Patch::Clear,
        })
    }
}

impl<T> Patch<T> {
    /// Applies the patch to an optional field.
    pub fn apply_to(self, field: &mut Option<T>) {
        match self {
            Patch::Keep => {}
            Patch::Clear => *field = None,
            Patch::Set(v) => *field = Some(v),
        }
    }

    /// Whether the patch changes anything.
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
}
